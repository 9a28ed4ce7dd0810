"""Learner: losses fall, the sample-reuse budget, checkpoints that resume exactly."""

import dataclasses
import logging

import numpy as np
import pytest
import torch

from alphazero.config import SelfPlayConfig, TrainConfig
from alphazero.train import rundir
from alphazero.train.learner import Learner, learning_rate
from games import get_game
from nets.torch_net import NetworkConfig
from search import SearchParams, uniform_evaluate
from selfplay.worker import SelfPlayWorker

TTT = get_game("tictactoe")
NET = NetworkConfig(blocks=1, channels=8, policy_channels=2, value_channels=1, value_hidden=8)


def games(moves=30, seed=0):
    worker = SelfPlayWorker(
        TTT,
        uniform_evaluate,
        SearchParams(simulations=16),
        SelfPlayConfig(games_per_worker=8, resign_threshold=-1.0),
        seed=seed,
    )
    return worker.play(moves=moves)[0]


def make_learner(**train):
    config = TrainConfig(
        **{
            "batch_size": 32,
            "min_buffer": 50,
            "steps": 100,
            "lr": 0.05,
            "buffer_size": 5000,
            **train,
        }
    )
    return Learner(TTT, NET, config)


def test_losses_fall_on_fixed_data():
    learner = make_learner(sample_reuse=1000.0, lr_schedule="constant")
    learner.add(games())
    first = learner.train(5)
    learner.train(60)
    last = learner.train(5)
    assert last["losses/total"] < first["losses/total"]
    assert last["step"] == 70 and set(first) >= {
        "losses/policy",
        "losses/value",
        "charts/policy_entropy",
    }


def test_sample_reuse_budget():
    learner = make_learner(sample_reuse=2.0, min_buffer=100)
    data = games(moves=12)
    n = len(data["values"])
    assert learner.train(10)["steps_done"] == 0  # empty buffer
    learner.add(data)
    expected = int(2.0 * n // 32) if n >= 100 else 0
    assert learner.steps_allowed() == expected
    assert learner.train(1000)["steps_done"] == expected
    assert learner.steps_allowed() == 0  # waits for fresh games


def test_learning_rate_schedule():
    config = TrainConfig(steps=100, lr=0.1)
    assert learning_rate(config, 0) == pytest.approx(0.1)
    assert learning_rate(config, 100) == pytest.approx(0.01)
    assert learning_rate(dataclasses.replace(config, lr_schedule="constant"), 50) == 0.1
    # A time budget: the schedule follows whichever of steps and time is further along.
    assert learning_rate(config, 0, time_progress=1.0) == pytest.approx(0.01)
    assert learning_rate(config, 50, time_progress=0.2) == learning_rate(config, 50)
    assert learning_rate(config, 20, time_progress=0.5) == pytest.approx(0.055)


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_checkpoint_resumes_exactly(tmp_path, optimizer):
    learner = make_learner(sample_reuse=100.0, optimizer=optimizer)
    learner.add(games())
    learner.train(7)
    path = rundir.checkpoint_path(tmp_path, learner.step)
    learner.save(path, rundir.replay_path(path), extra={"version": 3})
    after_save = learner.train(3)

    torch.manual_seed(123)  # a different process state: everything must come from the file
    restored = make_learner(sample_reuse=100.0, optimizer=optimizer)
    checkpoint = restored.restore(path)
    assert checkpoint["version"] == 3 and restored.step == 7
    for a, b in zip(restored.buffer.contents(), learner.buffer.contents()):
        np.testing.assert_array_equal(a, b)
    again = restored.train(3)
    assert again["losses/total"] == pytest.approx(after_save["losses/total"], rel=1e-5)
    for (name, a), b in zip(
        learner.model.state_dict().items(), restored.model.state_dict().values()
    ):
        torch.testing.assert_close(a, b, msg=name)


def test_restore_latest_falls_back_past_a_corrupt_checkpoint(tmp_path, caplog):
    learner = make_learner(sample_reuse=100.0)
    learner.add(games())
    for _ in range(2):
        learner.train(5)
        path = rundir.checkpoint_path(tmp_path, learner.step)
        learner.save(path, rundir.replay_path(path))
    newest = rundir.checkpoint_path(tmp_path, 10)
    newest.write_bytes(newest.read_bytes()[:1000])  # torn write
    restored = make_learner()
    path, _ = rundir.restore_latest(tmp_path, restored.restore)
    assert path.name == "step_00000005.pt" and restored.step == 5
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.getMessage().startswith("resuming from step_00000005.pt: skipped the "
                                           "newer, unreadable step_00000010.pt: ")
    caplog.clear()
    rundir.replay_path(path).write_bytes(b"junk")  # its buffer too: nothing left
    with pytest.raises(FileNotFoundError, match="no readable checkpoint") as raised:
        rundir.restore_latest(tmp_path, make_learner().restore)
    assert "\n" not in str(raised.value)
    assert "step_00000010.pt: " in str(raised.value) and "step_00000005.pt: " in str(raised.value)
    # the error is the one line the person sees: nothing logged above debug before it
    assert not [r for r in caplog.records if r.levelno > logging.DEBUG]


def test_prune_keeps_newest_with_their_buffers(tmp_path):
    learner = make_learner(sample_reuse=100.0)
    learner.add(games(moves=10))
    for step in (1, 2, 3, 4):
        learner.step = step
        path = rundir.checkpoint_path(tmp_path, step)
        learner.save(path, rundir.replay_path(path))
    rundir.prune_checkpoints(tmp_path, keep=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == [
        "step_00000003.pt",
        "step_00000003.replay.npz",
        "step_00000004.pt",
        "step_00000004.replay.npz",
    ]


def test_one_cosine_for_training_and_pretraining():
    """``cosine_learning_rate`` is the formula both schedules wrote out before, bit for bit."""
    import math

    from alphazero.train.learner import cosine_learning_rate

    for peak in (0.02, 1e-3, 3e-3):
        for done in np.linspace(0.0, 1.0, 37):
            learner = peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * done)))
            floor = 0.1
            pretrain = peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * done)))
            assert cosine_learning_rate(peak, done) == learner == pretrain


@pytest.mark.parametrize("name", ["outside.replay.npz", "../outside.replay.npz", "..", ""])
def test_resume_reads_no_replay_file_outside_the_checkpoint_directory(tmp_path, name):
    from nets.checkpoint import CheckpointError, atomic_torch_save, load_checkpoint

    learner = make_learner(sample_reuse=100.0)
    learner.add(games(moves=10))
    path = rundir.checkpoint_path(tmp_path / "run", 3)
    learner.save(path, rundir.replay_path(path))
    outside = tmp_path / "outside.replay.npz"  # a readable buffer, outside the run
    learner.buffer.save(outside)
    checkpoint = load_checkpoint(path)
    checkpoint["replay_file"] = str(outside) if name == "outside.replay.npz" else name
    atomic_torch_save(path, checkpoint)
    with pytest.raises(CheckpointError, match="names the replay file .*must be a file name in"):
        make_learner().restore(path)


def test_resume_removes_partial_files_of_a_killed_writer(tmp_path):
    learner = make_learner(sample_reuse=100.0)
    learner.add(games(moves=10))
    path = rundir.checkpoint_path(tmp_path, 2)
    learner.save(path, rundir.replay_path(path))
    directory = tmp_path / "checkpoints"
    for leftover in (".step_00000004.pt.abc123.tmp", ".step_00000004.replay.npz.x.tmp"):
        (directory / leftover).write_bytes(b"partial")
    assert rundir.remove_partial_files(tmp_path) == 2
    assert sorted(p.name for p in directory.iterdir()) == [
        "step_00000002.pt", "step_00000002.replay.npz"]
    assert rundir.remove_partial_files(tmp_path / "elsewhere") == 0


def test_a_diverged_network_is_not_published():
    """Weights that training made NaN (a learning rate far too high) are refused, in one
    line naming the step, before they reach a worker or a checkpoint."""
    learner = make_learner()
    learner.add(games())
    learner.train(3)
    assert all(np.isfinite(w).all() for w in learner.finite_weights().values())
    with torch.no_grad():  # as a diverged step leaves it
        next(learner.model.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(FloatingPointError, match=f"not finite at step {learner.step}") as err:
        learner.finite_weights()
    assert "\n" not in str(err.value) and "lower train.lr" in str(err.value)
