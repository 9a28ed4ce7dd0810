"""Training the learned search without a solver, on chess: one-step deviations over the
legal children only, positions from the network's own play, and the command."""

import dataclasses
import json

import numpy as np
import pytest

from alphazero.cli import main
from alphazero.config import load_config
from alphazero.learned.positions import own_play_positions
from alphazero.learned.training import deviation_batch
from games import get_game
from nets.loader import shipped_checkpoint
from nets.search_weights import LearnedSearch
from search import BatchedMCTS

CHESS = get_game("chess")
TTT = get_game("tictactoe")


def fixed_evaluate(num_actions: int, seed: int = 0):
    """A deterministic, non-uniform evaluator: fixed logits, a value from the input planes."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=num_actions).astype(np.float32)
    weights = None

    def evaluate(obs, masks):
        nonlocal weights
        if weights is None:
            weights = rng.normal(size=obs.shape[1:]).astype(np.float32) / np.sqrt(obs[0].size)
        values = np.tanh((obs * weights).sum(axis=(1, 2, 3))).astype(np.float32)
        return np.broadcast_to(logits, masks.shape).copy(), values

    return evaluate


def chess_states():
    a = CHESS.initial_state()
    b = CHESS.parse_position("startpos moves e2e4 e7e5 g1f3 b8c6 f1c4")
    return [a, b]


def _forced_alone(game, evaluate, params, state, costs, sim, depth, child):
    mcts = BatchedMCTS(game, evaluate, params, batch_size=1, seed=0,
                       learned=LearnedSearch.fresh(0).weights())
    mcts.set_roots([state])
    result = mcts.run(control=np.array([[sim, depth, child]], dtype=np.int64))
    return costs[result.action[0]]


@pytest.mark.parametrize("game", [CHESS, TTT], ids=["chess", "tictactoe"])
def test_deviation_batch_runs_one_tree_per_legal_child(game):
    """Chess (4,672 slots): one tree per child of the decision, each finishing as the same
    search forced alone would."""
    evaluate = fixed_evaluate(game.num_actions)
    params = dataclasses.replace(load_config(game.name).search, arm="learned", simulations=16,
                                 leaves_per_step=1)  # one leaf a step: depth 1 is reached
    states = chess_states() if game is CHESS else [TTT.initial_state(),
                                                   TTT.apply(TTT.initial_state(), 4)]
    costs = np.random.default_rng(1).random((len(states), game.num_actions))
    sims, depths = np.array([2, 13]), np.array([0, 1])
    batch = deviation_batch(game, evaluate, params, LearnedSearch.fresh(0), states, costs, 16,
                            sims, depths, seed=0)
    legal = [int(game.legal_mask(s).sum()) for s in states]
    assert batch["count"][0] == legal[0]  # depth 0: the root's legal moves
    assert 0 < batch["count"][1] <= 64
    width = batch["feats"].shape[1]
    assert batch["child_cost"].shape == batch["scores"].shape == (2, width)
    assert len(batch["visits"]) == len(batch["tree_costs"]) == 2 + batch["count"].sum()
    for p in range(2):
        for child in {0, int(batch["count"][p]) - 1}:
            alone = _forced_alone(game, evaluate, params, states[p], costs[p], sims[p],
                                  depths[p], child)
            assert batch["child_cost"][p, child] == alone
        assert not batch["child_cost"][p, batch["count"][p]:].any()


def test_own_play_positions_are_distinct_live_and_reproducible():
    evaluate = fixed_evaluate(CHESS.num_actions)
    first = own_play_positions(CHESS, evaluate, 6, seed=3, plies=(2, 12))
    again = own_play_positions(CHESS, evaluate, 6, seed=3, plies=(2, 12))
    keys = [CHESS.format_position(s) for s in first]
    assert keys == [CHESS.format_position(s) for s in again]
    assert len(set(keys)) == 6 and not any(CHESS.is_terminal(s) for s in first)
    assert keys != [CHESS.format_position(s) for s in
                    own_play_positions(CHESS, evaluate, 6, seed=4, plies=(2, 12))]
    skipped = set(keys[:3])
    kept = own_play_positions(CHESS, evaluate, 6, seed=3, plies=(2, 12),
                              exclude=lambda s: CHESS.format_position(s) in skipped)
    assert not skipped & {CHESS.format_position(s) for s in kept}
    with pytest.raises(ValueError):
        own_play_positions(CHESS, evaluate, 2, seed=0, temperature=0.0)


def test_train_search_chess_command(tmp_path, capsys):
    """Tiny budgets, the shipped network: trains, writes weights, prints the held-out table."""
    out = tmp_path / "search.pt"
    code = main(["train-search", "chess", "--checkpoint", str(shipped_checkpoint("chess")),
                 "--iterations", "1", "--budgets", "3", "--positions", "3", "--batch", "2",
                 "--backend", "onnx", "--run-dir", str(tmp_path / "run"), "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "teacher search" in text and "| 3 |" in text
    meta = LearnedSearch.load(out).meta
    assert meta["game"] == "chess" and meta["teacher"] == "search"
    assert meta["positions_from"] == "own play"
    assert json.loads(json.dumps(meta))["budgets"] == [3]


def test_own_play_positions_on_a_game_without_format_position():
    states = own_play_positions(TTT, fixed_evaluate(TTT.num_actions), 4, seed=0, plies=(1, 5))
    assert len({bytes(np.asarray(s)) for s in states}) == 4
