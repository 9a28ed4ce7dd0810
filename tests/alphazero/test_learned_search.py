"""Training the learned search (torch side) and its commands."""

import io
import json
import sys

import numpy as np
import pytest
import torch

from alphazero.cli import main
from alphazero.config import TrainSearchConfig, load_config
from alphazero.eval.labelled import tictactoe_positions
from alphazero.learned.training import (
    reinforce_loss,
    search_cost,
    selection_loss,
    solver_costs,
    train_learned_search,
)
from games import get_game
from nets.checkpoint import save_checkpoint
from nets.search_weights import LearnedSearch, ScoreNet
from nets.torch_net import PolicyValueNet, make_evaluate_fn
from search.learned import HIDDEN, NUM_SELECTION_FEATURES, mlp_forward

TTT = get_game("tictactoe")


@pytest.fixture(scope="module")
def random_net():
    torch.manual_seed(0)
    config = load_config("tictactoe")
    return config, PolicyValueNet(config.network, TTT.observation_shape, TTT.num_actions)


def test_export_matches_numba_forward():
    torch.manual_seed(1)
    net = ScoreNet(NUM_SELECTION_FEATURES)
    torch.nn.init.normal_(net.l3.weight)
    x = np.random.default_rng(0).normal(size=NUM_SELECTION_FEATURES)
    expected = float(net(torch.tensor(x, dtype=torch.float32)).detach())
    assert mlp_forward(net.export(), x, NUM_SELECTION_FEATURES, HIDDEN) == pytest.approx(
        expected, abs=1e-5)
    score = ScoreNet(NUM_SELECTION_FEATURES)(torch.tensor(x, dtype=torch.float32))
    assert float(score.detach()) == 0.0


def test_solver_costs():
    cost = solver_costs((3, None, -1, 0, 3), 5)
    np.testing.assert_allclose(cost, [0.0, 2.0, 1.04, 1.03, 0.0])


def tictactoe_states_and_costs():
    """Every labelled tic-tac-toe position and the solver cost of each move."""
    positions = tictactoe_positions()
    return ([p.state() for p in positions],
            np.stack([solver_costs(p.scores, 9) for p in positions]))


def test_short_training_lowers_cost_on_tictactoe(random_net):
    config, model = random_net
    evaluate = make_evaluate_fn(model)
    states, costs = tictactoe_states_and_costs()
    budgets = (4, 8)
    before = sum(search_cost(TTT, evaluate, config.search, None, states, costs, b)
                 for b in budgets)
    cfg = TrainSearchConfig(iterations=40, budgets=budgets, positions_per_batch=64, seed=0)
    learned = train_learned_search(TTT, evaluate, config.search, states, costs, cfg)
    after = sum(search_cost(TTT, evaluate, config.search, learned.weights(), states, costs, b)
                for b in budgets)
    assert after < before - 0.02, (before, after)


def _decisions(seed=0, width=4, counts=(4, 3, 2)):
    """Hand-built recorded decisions: features, PUCT scores, child counts, child costs."""
    rng = np.random.default_rng(seed)
    d = len(counts)
    return {"feats": rng.normal(size=(d, width, NUM_SELECTION_FEATURES)),
            "scores": rng.normal(size=(d, width)), "count": np.asarray(counts),
            "child_cost": rng.random((d, width))}


def _grad(net, loss):
    net.zero_grad()
    loss.backward()
    return torch.cat([p.grad.ravel() for p in net.parameters()])


def test_reinforce_gradient_is_unbiased_for_the_deviation_objective():
    """One decision sampled: E over the child of grad log pi(a) * (C_a - b) equals the gradient
    of the expected cost that the deviation method computes exactly, whatever the baseline b."""
    torch.manual_seed(0)
    net = ScoreNet(NUM_SELECTION_FEATURES)
    torch.nn.init.normal_(net.l3.weight)
    cfg = TrainSearchConfig(temperature=0.5, regularization=0.0)
    dec = _decisions()
    exact = _grad(net, selection_loss(net, dec, cfg)[0])
    # The expectation, enumerated: one row per (decision, child), weighted by pi(child).
    logits = (torch.as_tensor(dec["scores"], dtype=torch.float32) + net(torch.as_tensor(
        dec["feats"], dtype=torch.float32))).detach() / cfg.temperature
    rows = [(d, a) for d, c in enumerate(dec["count"]) for a in range(c)]
    baseline = np.array([0.7, -0.3, 0.2])  # any baseline that does not depend on the child
    pi = [torch.softmax(logits[d, :c], 0).numpy() for d, c in enumerate(dec["count"])]
    batch = {"feats": dec["feats"][[d for d, _ in rows]],
             "scores": dec["scores"][[d for d, _ in rows]],
             "count": dec["count"][[d for d, _ in rows]],
             "choice": np.array([a for _, a in rows]), "norm": float(len(dec["count"])),
             "advantage": np.array([pi[d][a] * (dec["child_cost"][d, a] - baseline[d])
                                    for d, a in rows])}
    expected = _grad(net, reinforce_loss(net, batch, cfg))
    assert exact.abs().max() > 1e-3
    torch.testing.assert_close(expected, exact, rtol=1e-4, atol=1e-6)


def test_whole_search_reinforce_gradient_is_unbiased():
    """Two sampled decisions in sequence, the second one's children depending on the first
    choice: E over whole paths of (C - b) * sum_d grad log pi(a_d) is the gradient of the
    expected cost E[C] of the softened rule, computed here by enumerating the paths."""
    torch.manual_seed(0)
    net = ScoreNet(NUM_SELECTION_FEATURES)
    torch.nn.init.normal_(net.l3.weight)
    cfg = TrainSearchConfig(temperature=0.5, regularization=0.0)
    rng = np.random.default_rng(1)
    width = 3
    first = {"feats": rng.normal(size=(1, width, NUM_SELECTION_FEATURES)),
             "scores": rng.normal(size=(1, width)), "count": np.array([3])}
    second = {"feats": rng.normal(size=(width, width, NUM_SELECTION_FEATURES)),
              "scores": rng.normal(size=(width, width)), "count": np.array([3, 2, 3])}
    cost = rng.random((width, width))  # C(a1, a2)
    baseline = 0.4

    def probs(dec):
        logits = (torch.as_tensor(dec["scores"], dtype=torch.float32) + net(torch.as_tensor(
            dec["feats"], dtype=torch.float32))) / cfg.temperature
        valid = torch.arange(width)[None, :] < torch.as_tensor(dec["count"])[:, None]
        return torch.softmax(logits.masked_fill(~valid, -1e9), 1)

    p1, p2 = probs(first), probs(second)
    expected_cost = sum(p1[0, a] * p2[a, b] * float(cost[a, b])
                        for a in range(3) for b in range(second["count"][a]))
    exact = _grad(net, expected_cost)
    paths = [(a, b) for a in range(3) for b in range(second["count"][a])]
    weight = {(a, b): float((p1[0, a] * p2[a, b]).detach()) * (cost[a, b] - baseline)
              for a, b in paths}
    rows = [(first, 0, a, (a, b)) for a, b in paths] + [(second, a, b, (a, b))
                                                         for a, b in paths]
    batch = {key: np.stack([dec[key][i] for dec, i, _, _ in rows])
             for key in ("feats", "scores", "count")}
    batch.update(choice=np.array([c for _, _, c, _ in rows]), norm=1.0,
                 advantage=np.array([weight[path] for _, _, _, path in rows]))
    expected = _grad(net, reinforce_loss(net, batch, cfg))
    assert exact.abs().max() > 1e-3
    torch.testing.assert_close(expected, exact, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("advantage", [1.0, -1.0])
def test_reinforce_step_moves_away_from_a_costly_sample(advantage):
    torch.manual_seed(0)
    net = ScoreNet(NUM_SELECTION_FEATURES)
    dec = _decisions(counts=(4,))
    batch = {**dec, "choice": np.array([2]), "advantage": np.array([advantage]), "norm": 1.0}
    cfg = TrainSearchConfig()

    @torch.no_grad()
    def prob():
        logits = torch.as_tensor(dec["scores"], dtype=torch.float32) + net(
            torch.as_tensor(dec["feats"], dtype=torch.float32))
        return float(torch.softmax(logits[0] / cfg.temperature, 0)[2])

    before = prob()
    optimiser = torch.optim.SGD(net.parameters(), lr=0.01)
    optimiser.zero_grad()
    reinforce_loss(net, batch, cfg).backward()
    optimiser.step()
    assert (prob() - before) * advantage < 0  # a costlier search than PUCT: less likely


def test_reinforce_training_lowers_held_out_cost(random_net):
    config, model = random_net
    evaluate = make_evaluate_fn(model)
    states, costs = tictactoe_states_and_costs()
    order = np.random.default_rng(0).permutation(len(states))
    train, held = order[: len(order) // 2], order[len(order) // 2:]
    budgets = (4, 8)

    def held_cost(weights):
        return sum(search_cost(TTT, evaluate, config.search, weights, [states[i] for i in held],
                               costs[held], b) for b in budgets)

    stats = []
    cfg = TrainSearchConfig(method="reinforce", iterations=40, budgets=budgets,
                            positions_per_batch=64, seed=0)
    learned = train_learned_search(TTT, evaluate, config.search, [states[i] for i in train],
                                   costs[train], cfg, log=lambda it, s: stats.append(s))
    before, after = held_cost(None), held_cost(learned.weights())
    assert after < before - 0.02, (before, after)
    weights = learned.weights()
    assert np.isfinite(weights.selection).all() and np.abs(weights.selection).max() < 100
    assert np.any(weights.selection[-(HIDDEN + 1):] != 0)  # the selection moved off PUCT
    assert all(np.isfinite(s["loss/selection"]) for s in stats)
    assert max(s["charts/overflow"] for s in stats) == 0.0  # at most 9 decisions a simulation
    assert min(s["charts/decisions"] for s in stats) >= 1.0  # every simulation decided


def test_train_search_method_is_checked():
    with pytest.raises(ValueError, match="method"):
        TrainSearchConfig(method="ppo")


def saved_net(random_net, tmp_path):
    config, model = random_net
    ckpt = tmp_path / "net.pt"
    save_checkpoint(ckpt, model_state=model.state_dict(), network_config=config.network,
                    game="tictactoe", observation_shape=TTT.observation_shape, num_actions=9)
    return ckpt


def test_train_search_command_and_learned_analyse(random_net, tmp_path, monkeypatch, capsys):
    ckpt = saved_net(random_net, tmp_path)
    out = tmp_path / "search.pt"
    code = main(["train-search", "tictactoe", "--checkpoint", str(ckpt), "--out", str(out),
                 "--run-dir", str(tmp_path / "run"), "--iterations", "3", "--budgets", "4,8",
                 "--positions", "200"])
    assert code == 0 and out.is_file()
    printed = capsys.readouterr().out
    assert "| 4 |" in printed and "learned" in printed
    assert LearnedSearch.load(out).meta["game"] == "tictactoe"
    monkeypatch.setattr(sys, "stdin", io.StringIO("1425\n"))
    code = main(["analyse", "tictactoe", "--checkpoint", str(ckpt), "--search", "learned",
                 "--sims", "32", "--set", f"search.learned_weights={out}"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["move"] == "3"


def test_learned_without_weights_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("5\n"))
    code = main(["analyse", "tictactoe", "--search", "learned", "--set",
                 f"search.learned_weights={tmp_path / 'none.pt'}"])
    err = capsys.readouterr().err
    assert code == 2 and "no learned search weights" in err and "Traceback" not in err


def test_train_search_reinforce_command(random_net, tmp_path, capsys):
    ckpt = saved_net(random_net, tmp_path)
    out = tmp_path / "search.pt"
    code = main(["train-search", "tictactoe", "--checkpoint", str(ckpt), "--out", str(out),
                 "--run-dir", str(tmp_path / "run"), "--iterations", "2", "--budgets", "4",
                 "--positions", "64", "--method", "reinforce"])
    assert code == 0 and "method reinforce" in capsys.readouterr().out
    assert LearnedSearch.load(out).meta["method"] == "reinforce"


def _saved_learned(path, game):
    learned = LearnedSearch.fresh(0, game=game)
    torch.nn.init.normal_(learned.selection.l3.weight)
    learned.save(path)
    return learned


def test_train_with_learned_arm_checks_its_weights_before_starting(tmp_path, monkeypatch,
                                                                   capsys):
    import ray

    import alphazero.train.driver as train_module

    ok = tmp_path / "ttt_search.pt"
    expected = _saved_learned(ok, "tictactoe").weights()
    _saved_learned(tmp_path / "c4_search.pt", "connect4")
    started = []

    class Done:
        def summary(self):
            return "done"

    monkeypatch.setattr(train_module._Trainer, "run",
                        lambda self: started.append(self.learned) or Done())

    def train(weights):
        return main(["train", "tictactoe", "--run-dir", str(tmp_path / "run"), "--no-progress",
                     "--set", "search.arm=learned", "--set", f"search.learned_weights={weights}"])

    assert train(tmp_path / "none.pt") == 2
    err = capsys.readouterr().err
    assert "no learned search weights for tictactoe" in err and "Traceback" not in err
    assert train(tmp_path / "c4_search.pt") == 2
    assert "trained for connect4, not tictactoe" in capsys.readouterr().err
    assert not started and not ray.is_initialized()  # rejected before Ray or any worker
    assert train(ok) == 0
    (arrays,) = started  # what the self-play actors are sent: numpy arrays
    np.testing.assert_array_equal(arrays["selection"], expected.selection)
    np.testing.assert_array_equal(arrays["readout"], expected.readout)


def test_shipped_connect4_learned_search_is_for_connect4_only():
    from nets.checkpoint import CheckpointError
    from nets.loader import SHIPPED_DIR, resolve_learned
    from search import SearchParams

    path = SHIPPED_DIR / "connect4_search.pt"
    weights = resolve_learned(get_game("connect4"), SearchParams(arm="learned"))
    assert weights is not None and np.any(weights.selection != 0)  # trained: not plain PUCT
    assert LearnedSearch.load(path).meta["game"] == "connect4"
    with pytest.raises(CheckpointError, match="trained for connect4, not tictactoe"):
        resolve_learned(TTT, SearchParams(arm="learned", learned_weights=str(path)))
