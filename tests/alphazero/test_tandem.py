"""Tandem training of the learned search (alphazero.learned.tandem): the trainer in the
learner, its state across a resume, and the config that turns it on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alphazero.config import ConfigError, load_config
from alphazero.learned.tandem import SearchTrainer, initial_search
from games import get_game
from games.base import random_states
from nets.loader import new_model
from nets.weights import numpy_weights
from search.learned import TARGET_START

TTT = get_game("tictactoe")
SETTINGS = ["search.arm=learned", "search_training.enabled=true", "network.blocks=1",
            "network.channels=8", "network.value_hidden=8", "search.simulations=8",
            "search_training.positions_per_batch=4", "backend=numpy"]


def config(*more):
    return load_config("tictactoe", [*SETTINGS, *more])


def roots(count, seed=0):
    return np.stack(random_states(TTT, count, np.random.default_rng(seed), plies=(0, 5)))


def weights(cfg, seed=0):
    model = new_model(cfg.network, TTT.observation_shape, TTT.num_actions, seed=seed)
    return numpy_weights(model)


def test_the_search_trains_on_the_roots_it_is_sent():
    cfg = config()
    trainer = SearchTrainer(TTT, cfg)
    start = trainer.learned.weights()
    assert (start.target == TARGET_START).all() and not start.selection[-17:].any()
    assert trainer.step(weights(cfg)) == {}  # no roots yet: nothing to train on
    trainer.add_roots(roots(12))
    figures = trainer.step(weights(cfg))
    assert trainer.iterations == cfg.search_training.iterations
    for key in ("search/loss_selection", "search/loss_readout", "search/loss_target",
                "search/teacher_agreement", "search/student_cost", "search/residual_rms"):
        assert np.isfinite(figures[key]), key
    assert 0.0 <= figures["search/teacher_agreement"] <= 1.0
    after = trainer.learned.weights()
    assert after.selection[-17:].any()  # the residual's last layer left zero
    assert after.target[0] > 0  # the target map mixed in some of its softmax
    assert not np.array_equal(after.readout, start.readout)
    arrays = trainer.arrays()
    assert set(arrays) == {"selection", "readout", "target", "backup"}
    assert arrays["backup"].size == 0  # backup_pairs 0: the mean backup, untouched
    assert "search/backup_agreement" not in figures


def test_the_backup_trains_in_tandem_when_asked():
    # 8 roots at 32 simulations and wide perturbations: some pairs' moves differ (at the
    # suite's other settings, 4 roots at 8 simulations, every pair ties and nothing moves)
    cfg = config("search_training.backup_pairs=4", "search_training.backup_sigma=2.0",
                 "search_training.iterations=3", "search_training.budgets=[32]",
                 "search_training.positions_per_batch=8")
    trainer = SearchTrainer(TTT, cfg)
    np.testing.assert_array_equal(trainer.arrays()["backup"], np.zeros(4))  # = mean backup
    trainer.add_roots(roots(32))
    figures = trainer.step(weights(cfg))
    for key in ("search/backup_cost", "search/backup_agreement", "search/backup_tied_pairs"):
        assert key in figures, key
    assert 0.0 <= figures["search/backup_tied_pairs"] < 1.0
    backup = trainer.arrays()["backup"]
    assert backup.shape == (4,) and np.abs(backup).max() > 0
    np.testing.assert_array_equal(trainer.learned.weights().backup, backup)
    # the weights are logged as they stand after the step (a drift is seen as it happens)
    np.testing.assert_array_equal([figures[f"search/backup_theta{i}"] for i in range(4)], backup)


def test_a_given_backup_reaches_the_workers(tmp_path):
    """Weights with a backup (train-search --backup-iterations) go out with it: the workers
    search as the learner's student does, whether or not tandem trains the backup."""
    given = SearchTrainer(TTT, config()).learned
    given.backup = np.array([1.0, 0.0, 0.0, 0.0])
    given.save(tmp_path / "search.pt")
    for more in ([], ["search_training.backup_pairs=2"]):
        trainer = SearchTrainer(TTT, config(f"search.learned_weights={tmp_path / 'search.pt'}",
                                            *more))
        np.testing.assert_array_equal(trainer.arrays()["backup"], given.backup)


def test_without_the_target_map_only_selection_and_readout_learn():
    cfg = config("search_training.target=false", "search_training.teacher_arm=puct")
    trainer = SearchTrainer(TTT, cfg)
    trainer.add_roots(roots(8))
    figures = trainer.step(weights(cfg))
    assert "search/loss_target" not in figures
    assert (trainer.learned.weights().target == TARGET_START).all()


@pytest.mark.parametrize("more", [[], ["search_training.backup_pairs=2",
                                        "search_training.backup_sigma=0.5"]])
def test_a_resumed_trainer_continues_exactly(tmp_path, more):
    """The state goes through a weights-only file (as in a checkpoint) and the next steps of
    the resumed trainer equal those of the one that kept running (with the backup's ES too)."""
    cfg = config(*more)
    net = weights(cfg)
    first = SearchTrainer(TTT, cfg)
    first.add_roots(roots(10))
    first.step(net)
    torch.save(first.state_dict(), tmp_path / "state.pt")
    second = SearchTrainer(TTT, config("train.seed=5", *more))  # all state is restored
    second.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    assert len(second.roots) == 10
    a, b = first.step(net), second.step(net)
    a.pop("search/seconds"), b.pop("search/seconds")
    assert a == b
    for x, y in zip(first.arrays().values(), second.arrays().values()):
        np.testing.assert_array_equal(x, y)


def test_initial_search_starts_from_given_weights(tmp_path):
    cfg = config()
    trained = SearchTrainer(TTT, cfg)
    trained.add_roots(roots(8))
    trained.step(weights(cfg))
    trained.learned.save(tmp_path / "search.pt")
    start = initial_search(TTT, config(f"search.learned_weights={tmp_path / 'search.pt'}"))
    np.testing.assert_array_equal(start.weights().selection, trained.arrays()["selection"])
    assert start.meta["trained_by"] == "tandem"


def test_the_search_trains_in_tandem_on_chess_boards():
    """Chess roots are boards (no array form): the trainer trains on them, its state leaves
    them out, and a resumed trainer refills its pool from the next games."""
    import chess

    game = get_game("chess")
    cfg = load_config("chess", ["search.arm=learned", "search_training.enabled=true",
                                "network.blocks=1", "network.channels=8",
                                "network.value_hidden=8", "backend=numpy",
                                "search_training.budgets=[4]", "search_training.teacher_factor=2",
                                "search_training.positions_per_batch=2",
                                "search_training.iterations=1",
                                "search_training.backup_pairs=1"])
    trainer = SearchTrainer(game, cfg)
    boards = [chess.Board(),
              chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3"),
              chess.Board("8/8/8/4k3/8/8/4PK2/8 w - - 0 1")]
    trainer.add_roots(boards)
    model = new_model(cfg.network, game.observation_shape, game.num_actions, seed=0)
    figures = trainer.step(numpy_weights(model))
    assert np.isfinite(figures["search/loss_readout"]) and "search/backup_agreement" in figures
    state = trainer.state_dict()
    assert "roots" not in state
    resumed = SearchTrainer(game, cfg)
    resumed.load_state_dict(state)
    assert len(resumed.roots) == 0 and resumed.iterations == trainer.iterations


@pytest.mark.parametrize("overrides, message", [
    (["search_training.enabled=true"], "needs search.arm: learned"),
    (["search.arm=learned", "search_training.root_share=0"], "root_share must be in"),
    (["search.arm=learned", "search_training.pool=2",
      "search_training.positions_per_batch=4"], "positions_per_batch must be <= pool"),
    (["search.arm=learned", "search_training.teacher_arm=solver"], "learned or puct"),
    (["search.arm=learned", "search_training.budgets=[100000]",
      "search_training.teacher_factor=100"], "teacher's budget"),
    (["search.arm=learned", "search_training.iterations=0"], "iterations must be >= 1"),
    (["search_training.teacher=8"], "unknown config key 'search_training.teacher'"),
    (["search.arm=learned", "search_training.backup_pairs=-1"], "backup_pairs must be >= 0"),
    (["search.arm=learned", "search_training.backup_sigma=0"], "backup_sigma and backup_lr"),
])
def test_search_training_settings_are_checked(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config("tictactoe", overrides)
