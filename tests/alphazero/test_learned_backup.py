"""The learned backup: its weights' file format, its ES training and its ablate arm."""

from __future__ import annotations

import numpy as np
import pytest

from alphazero.ablate import arm_setup
from alphazero.cli import main
from alphazero.config import TrainSearchConfig, load_config
from alphazero.learned.backup import es_gradient, train_backup
from games import get_game
from games.base import random_states
from nets.checkpoint import CheckpointError
from nets.search_weights import LearnedSearch
from search.learned import BACKUP_SIZE

C4 = get_game("connect4")


def openings(count: int, seed: int = 0) -> list:
    return random_states(C4, count, np.random.default_rng(seed), plies=(4, 10))


def test_backup_settings_are_checked():
    TrainSearchConfig(iterations=0, backup_iterations=3)  # the backup alone
    with pytest.raises(ValueError, match="not both 0"):
        TrainSearchConfig(iterations=0, backup_iterations=0)
    with pytest.raises(ValueError, match="backup_sigma and backup_lr must be > 0"):
        TrainSearchConfig(backup_iterations=3, backup_sigma=0.0)
    with pytest.raises(ValueError, match="backup_pairs must be >= 1"):
        TrainSearchConfig(backup_iterations=3, backup_pairs=0)


def test_backup_weights_round_trip_and_bad_ones_are_refused(tmp_path):
    learned = LearnedSearch.fresh(0, game="connect4")
    assert learned.weights().backup.size == 0  # untrained: the mean backup
    learned.backup = np.array([0.3, -0.1, 0.2, 0.05])
    learned.save(tmp_path / "s.pt")
    again = LearnedSearch.load(tmp_path / "s.pt")
    np.testing.assert_array_equal(again.weights().backup, learned.backup)
    learned.backup = np.array([np.inf, 0.0, 0.0, 0.0])
    learned.save(tmp_path / "inf.pt")
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        LearnedSearch.load(tmp_path / "inf.pt")
    learned.backup = np.zeros(BACKUP_SIZE + 1)
    learned.save(tmp_path / "long.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        LearnedSearch.load(tmp_path / "long.pt")


def varied_evaluate(observations: np.ndarray, legal: np.ndarray):
    """Uniform priors and a fixed, position-dependent value (the uniform evaluator's values
    are all 0, and a backup has nothing to mix)."""
    flat = observations.reshape(len(observations), -1).astype(np.float64)
    w = np.random.default_rng(5).standard_normal(flat.shape[1])
    logits = np.zeros(legal.shape, dtype=np.float32)
    return logits, np.tanh(flat @ w / 4).astype(np.float32)


def test_es_moves_the_backup_reproducibly():
    states = openings(24)
    costs = np.random.default_rng(3).random((len(states), C4.num_actions))
    cfg = TrainSearchConfig(iterations=0, backup_iterations=3, positions_per_batch=24,
                            budgets=(16,), backup_pairs=3, backup_sigma=0.5, seed=1)
    params = load_config("connect4").search
    seen = []
    runs = [train_backup(C4, varied_evaluate, params, states, costs, cfg,
                         learned=LearnedSearch.fresh(0),
                         log=lambda it, stats: seen.append(stats)).backup for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])  # deterministic searches, seeded ES
    assert np.isfinite(runs[0]).all() and np.abs(runs[0]).max() > 0
    assert len(seen) == 6 and {"charts/search_cost", "backup/w0", "backup/pair_agreement",
                               "backup/tied_pairs"} <= set(seen[0])


def test_es_pair_agreement_tells_a_direction_from_noise():
    rng = np.random.default_rng(0)
    true = np.array([1.0, -2.0, 0.5, 0.0])
    linear, noise = [], []
    for _ in range(300):
        directions = rng.standard_normal((8, 4))
        grad, agreement = es_gradient(directions @ true * 2 * 0.1, directions, 0.1)
        linear.append(agreement)
        noise.append(es_gradient(rng.standard_normal(8), directions, 0.1)[1])
    assert abs(np.mean(linear) - 1 / 6) < 0.04  # a linear cost: 1 / (d + 2)
    assert abs(np.mean(noise)) < 3 * np.std(noise) / np.sqrt(len(noise))  # noise: 0
    directions = rng.standard_normal((8, 4))
    assert es_gradient(np.zeros(8), directions, 0.1)[1] == 0.0  # every pair tied
    assert np.isnan(es_gradient(np.ones(1), directions[:1], 0.1)[1])
    d = rng.standard_normal(8)
    old = (d[:, None] * directions).sum(axis=0) / (2 * 0.1 * 8)  # the estimate before
    np.testing.assert_array_equal(es_gradient(d, directions, 0.1)[0], old)


def test_the_backup_arm_runs_the_backup_alone():
    learned = LearnedSearch.fresh(0)
    learned.backup = np.array([1.0, 0.0, 0.0, 0.0])
    weights = learned.weights()
    params = load_config("connect4").search
    alone = arm_setup("learned_backup", params, weights=weights)
    assert alone.learned.selection.size == 0 and alone.learned.readout.size == 0
    np.testing.assert_array_equal(alone.learned.backup, learned.backup)
    every = arm_setup("learned", params, weights=weights)
    assert every.learned.selection.size and every.learned.backup.size
    assert arm_setup("learned_selection", params, weights=weights).learned.backup.size == 0


def test_train_search_trains_the_backup_alone(tmp_path, capsys):
    out = tmp_path / "search.pt"
    assert main(["train-search", "tictactoe", "--checkpoint", "shipped", "--iterations", "0",
                 "--backup-iterations", "2", "--positions", "32", "--budgets", "2,4",
                 "--held-out", "16", "--run-dir", str(tmp_path / "run"), "--out",
                 str(out)]) == 0
    learned = LearnedSearch.load(out)
    assert learned.backup is not None and learned.meta["backup_iterations"] == 2
    printed = capsys.readouterr().out
    assert "learned backup weights" in printed and "ES signal: the pairs' agreement" in printed
    assert set(learned.meta["backup_signal"]) == {"mean_agreement", "z", "steps", "tied_pairs"}
    assert main(["train-search", "tictactoe", "--checkpoint", "shipped", "--iterations", "0",
                 "--run-dir", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "not both 0" in err and "Traceback" not in err
