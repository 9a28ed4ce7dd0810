"""Training the learned search (torch side) and its commands."""

import io
import json
import sys

import numpy as np
import pytest
import torch

from alphazero.checkpoint import save_checkpoint
from alphazero.cli import main
from alphazero.config import load_config
from alphazero.labelled import tictactoe_positions
from alphazero.learned_search import (
    LearnedSearch, ScoreNet, TrainSearchConfig, search_cost, solver_costs, train_learned_search,
)
from alphazero.network import PolicyValueNet, make_evaluate_fn
from games import get_game
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
    assert float(ScoreNet(NUM_SELECTION_FEATURES)(torch.tensor(x, dtype=torch.float32)).detach()) == 0.0


def test_solver_costs():
    cost = solver_costs((3, None, -1, 0, 3), 5)
    np.testing.assert_allclose(cost, [0.0, 2.0, 1.04, 1.03, 0.0])


def test_short_training_lowers_cost_on_tictactoe(random_net):
    config, model = random_net
    evaluate = make_evaluate_fn(model)
    positions = tictactoe_positions()
    states = [p.state() for p in positions]
    costs = np.stack([solver_costs(p.scores, 9) for p in positions])
    budgets = (4, 8)
    before = sum(search_cost(TTT, evaluate, config.search, None, states, costs, b)
                 for b in budgets)
    cfg = TrainSearchConfig(iterations=40, budgets=budgets, positions_per_batch=64, seed=0)
    learned = train_learned_search(TTT, evaluate, config.search, states, costs, cfg)
    after = sum(search_cost(TTT, evaluate, config.search, learned.weights(), states, costs, b)
                for b in budgets)
    assert after < before - 0.02, (before, after)


def test_train_search_command_and_learned_analyse(random_net, tmp_path, monkeypatch, capsys):
    config, model = random_net
    ckpt = tmp_path / "net.pt"
    save_checkpoint(ckpt, model_state=model.state_dict(), network_config=config.network,
                    game="tictactoe", observation_shape=TTT.observation_shape, num_actions=9)
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
