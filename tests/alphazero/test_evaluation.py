"""The evaluation ladder, its CSV, and solver-labelled positions."""

import csv
import dataclasses
import logging
import math

import numpy as np
import pytest
import torch

from alphazero.config import load_config
from alphazero.eval.agents import RandomAgent, SolverAgent
from alphazero.eval.labelled import (
    LabelledPosition,
    generate_connect4,
    labelled_positions,
    load_positions,
    optimal_share,
    save_positions,
    tictactoe_positions,
)
from alphazero.eval.matches import append_csv_row, run_ladder
from games import get_game
from games.connect4_solver import Connect4Solver
from nets.checkpoint import save_checkpoint
from nets.torch_net import NetworkConfig, PolicyValueNet

TTT = get_game("tictactoe")
TINY = NetworkConfig(blocks=1, channels=8, policy_channels=2, value_channels=1, value_hidden=8)


@pytest.fixture(scope="module")
def solver():
    return Connect4Solver()


@pytest.fixture(scope="module")
def c4_positions(solver):
    return generate_connect4(4, seed=11, solver=solver)


def tiny_config(games=4):
    config = load_config("tictactoe")
    return dataclasses.replace(
        config, network=TINY, device="cpu",
        search=dataclasses.replace(config.search, simulations=8),
        train=dataclasses.replace(config.train, eval_games=games))


def save_tiny(path, seed):
    torch.manual_seed(seed)
    model = PolicyValueNet(TINY, TTT.observation_shape, TTT.num_actions)
    save_checkpoint(path, model_state=model.state_dict(), network_config=TINY, game="tictactoe",
                    observation_shape=TTT.observation_shape, num_actions=TTT.num_actions)
    return model


def test_run_ladder_tictactoe_returns_metrics_and_writes_csv(tmp_path):
    config = tiny_config()
    earlier = tmp_path / "step_100.pt"
    save_tiny(earlier, seed=1)
    model = save_tiny(tmp_path / "current.pt", seed=2).train()
    threads = torch.get_num_threads()
    metrics = run_ladder(TTT, model, config, step=200, run_dir=tmp_path,
                         earlier_checkpoints=[earlier], seed=0, rollout_simulations=16,
                         labelled_count=40)
    assert model.training and torch.get_num_threads() == threads  # left as they were
    for opponent in ("random", "rollout", "ckpt_step_100"):
        for suffix in ("", "_low", "_high"):
            assert f"elo/{opponent}{suffix}" in metrics
        wdl = [metrics[f"wdl/{opponent}_{k}"] for k in ("win", "draw", "loss")]
        assert sum(wdl) == 4
        assert math.isfinite(metrics[f"elo/{opponent}"])
        assert metrics[f"elo/{opponent}_low"] <= metrics[f"elo/{opponent}"]
    for key in ("optimal_share_policy", "optimal_share_search", "best_share_policy",
                "best_share_search"):
        assert 0.0 <= metrics[f"solver/{key}"] <= 1.0
    with open(tmp_path / "evaluation.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["step"] == "200"
    assert set(rows[0]) == {"step", *metrics}

    later = tmp_path / "step_200.pt"
    save_tiny(later, seed=3)
    run_ladder(TTT, model, config, step=300, run_dir=tmp_path, earlier_checkpoints=[later],
               seed=1, rollout_simulations=0, labelled_count=0)
    with open(tmp_path / "evaluation.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["200", "300"]
    assert rows[0]["elo/ckpt_step_200"] == "" and rows[1]["elo/ckpt_step_100"] == ""
    assert rows[1]["elo/ckpt_step_200"] != ""


def test_append_csv_row_widens_the_header(tmp_path):
    path = tmp_path / "log.csv"
    append_csv_row(path, {"step": 1, "a": 0.5})
    append_csv_row(path, {"step": 2, "a": 0.25})
    append_csv_row(path, {"step": 3, "b": 1.0})
    lines = path.read_text().splitlines()
    assert lines == ["step,a,b", "1,0.5,", "2,0.25,", "3,,1.0"]


def test_connect4_positions_are_middle_game_and_a_move_changes_the_value(c4_positions, solver):
    game = get_game("connect4")
    for position in c4_positions:
        state = position.state()
        assert 16 <= len(position.moves) <= 28 and not game.is_terminal(state)
        assert position.changes_value() and position.value >= 0  # lost: every move loses
        assert set(position.optimal_actions()) >= set(position.best_actions())
        assert max(s for s in position.scores if s is not None) == solver.solve(position.moves)
        legal = game.legal_mask(state)
        assert [s is not None for s in position.scores] == legal.tolist()
    # The labels are exact: check one move's score by solving the child position.
    position = c4_positions[0]
    action = position.best_actions()[0]
    child = position.moves + str(action + 1)
    if not game.is_terminal(game.parse_position(child)):
        assert -solver.solve(child) == position.scores[action]


def test_solver_moves_are_optimal_and_random_ones_are_not_always(c4_positions):
    perfect = optimal_share(SolverAgent("connect4", seed=0), c4_positions)
    assert perfect.optimal == 1.0 and perfect.best == 1.0 and perfect.positions == 4
    worst = [next(a for a, s in enumerate(p.scores) if s is not None and np.sign(s) != p.value)
             for p in c4_positions]  # a move that changes the value
    assert optimal_share(worst, c4_positions).optimal == 0.0
    with pytest.raises(ValueError, match="3 moves for 4 positions"):
        optimal_share(worst[:3], c4_positions)


def test_same_seed_same_positions_and_the_cache_extends(tmp_path, solver, c4_positions):
    again = generate_connect4(2, seed=11, solver=solver)
    assert again == c4_positions[:2]
    first = labelled_positions("connect4", 1, seed=11, cache_dir=tmp_path)
    more = labelled_positions("connect4", 2, seed=11, cache_dir=tmp_path)
    assert first == more[:1] and more == c4_positions[:2]
    assert len(load_positions(tmp_path / "connect4_labelled_seed11.txt")) == 2


def test_save_and_load_round_trip(tmp_path):
    positions = [LabelledPosition("connect4", "4453", (1, None, -2, 0, 3, 3, -1))]
    save_positions(tmp_path / "p.txt", positions, comment="two\nlines")
    assert load_positions(tmp_path / "p.txt") == positions
    assert (tmp_path / "p.txt").read_text().startswith("# two\n# lines\n4453 1 . -2")


def test_tictactoe_positions_and_shares():
    positions = tictactoe_positions()
    assert len(positions) > 1000
    assert all(p.changes_value() and p.value >= 0 for p in positions)
    assert positions[0].moves == "9"  # after a corner, only the centre holds the draw
    assert positions[0].optimal_actions() == [4]
    sample = labelled_positions("tictactoe", 200, seed=0)
    assert len(sample) == 200 and sample == labelled_positions("tictactoe", 200, seed=0)
    assert optimal_share(SolverAgent(TTT, seed=0), sample).optimal == 1.0
    assert optimal_share(RandomAgent(TTT, seed=0), sample).optimal < 0.9


def test_labelled_command_reports_the_time_per_position(tmp_path, capsys):
    from alphazero.eval.labelled import main

    main(["--count", "1", "--seed", "11", "--cache-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert out.startswith("1 positions in") and "ms a position" in out
    assert (tmp_path / "connect4_labelled_seed11.txt").is_file()


def test_an_unreadable_earlier_checkpoint_skips_that_opponent_only(tmp_path, caplog):
    config = tiny_config(games=2)
    good, bad = tmp_path / "step_100.pt", tmp_path / "step_200.pt"
    save_tiny(good, seed=1)
    save_tiny(bad, seed=2)
    bad.write_bytes(bad.read_bytes()[:500])  # torn
    model = save_tiny(tmp_path / "current.pt", seed=3)
    with caplog.at_level(logging.WARNING):
        metrics = run_ladder(TTT, model, config, step=300, run_dir=tmp_path,
                             earlier_checkpoints=[good, bad], seed=0, rollout_simulations=0,
                             labelled_count=0)
    assert "elo/ckpt_step_100" in metrics and "elo/random" in metrics
    assert not any("step_200" in key for key in metrics)
    assert caplog.text.count("the ladder skips earlier checkpoint step_200.pt") == 1


def test_the_ladder_searches_with_the_learned_weights_it_is_given(tmp_path, caplog):
    """Arm learned: the ladder searches with the run's learned weights (those of the same
    publication in tandem training) and writes the run's clock; without weights, PUCT."""
    from search.learned import LearnedWeights

    config = tiny_config(games=2)
    config = dataclasses.replace(config, search=dataclasses.replace(config.search, arm="learned"))
    model = save_tiny(tmp_path / "current.pt", seed=2)
    with caplog.at_level(logging.WARNING):
        given = run_ladder(TTT, model, config, step=1, run_dir=tmp_path, earlier_checkpoints=[],
                           seed=0, rollout_simulations=0, labelled_count=40,
                           learned=LearnedWeights.untrained(),
                           columns={"cpu_seconds": 12.5})
    assert "needs its weights" not in caplog.text
    with caplog.at_level(logging.WARNING):
        fallback = run_ladder(TTT, model, config, step=2, run_dir=tmp_path,
                              earlier_checkpoints=[], seed=0, rollout_simulations=0,
                              labelled_count=40)
    assert "the ladder searches with puct: arm learned needs its weights" in caplog.text
    # untrained learned weights are PUCT exactly: the same answers either way
    assert given["solver/optimal_share_search"] == fallback["solver/optimal_share_search"]
    with open(tmp_path / "evaluation.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["cpu_seconds"] == "12.5" and rows[1]["cpu_seconds"] == ""
