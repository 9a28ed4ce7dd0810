"""`alphazero train` when parts of the run fail: workers that keep failing, a worker that
cannot be placed, more workers than CPUs, a killed learner, a SIGTERM to the driver."""

import dataclasses
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from alphazero.cli import main
from alphazero.config import load_config
from alphazero.train import rundir

sys.path.insert(0, str(Path(__file__).parent))
from test_train import TINY, _processes, kill_tree, sets, tensorboard_scalars


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, start time) of every process below ``pid``."""
    table, found, frontier = _processes(), [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, (ppid, _) in table.items() if ppid == parent]
        found += [(p, table[p][1]) for p in children]
        frontier += children
    return found


def alive(processes: list[tuple[int, str]]) -> list[int]:
    now = _processes()
    return [pid for pid, started in processes if pid in now and now[pid][1] == started]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def start_run(run_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "alphazero", "train", "tictactoe", "--run-dir", str(run_dir),
         "--no-progress", *sets(*TINY, "train.checkpoint_every=2", "train.eval_every=0",
                                "train.steps=100000")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(proc: subprocess.Popen, run_dir: Path) -> None:
    deadline = time.time() + 120
    while not rundir.list_checkpoints(run_dir):
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.time() < deadline, "no checkpoint after 120 s"
        time.sleep(0.2)


def test_more_workers_than_cpus_is_one_line_before_ray_starts(tmp_path, capsys):
    started = time.time()
    code = main(["train", "tictactoe", "--run-dir", str(tmp_path / "run"), "--no-progress",
                 "--set", "selfplay.workers=1000"])
    err = capsys.readouterr().err
    assert code == 2 and time.time() - started < 10
    assert err.count("\n") == 1 and "selfplay.workers=1000 needs 1000 CPUs" in err
    assert f"this machine has {len(os.sched_getaffinity(0))}" in err


@pytest.mark.slow
def test_a_worker_that_always_fails_ends_the_run_with_its_error(tmp_path, monkeypatch):
    from alphazero.train import driver
    from alphazero.train.supervise import TrainingError

    config = load_config("tictactoe", TINY + ["selfplay.workers=1", "train.eval_every=0"])
    # A shape the loader refuses, smuggled past it into the workers only: each one fails
    # building its network, the learner runs.
    broken = dataclasses.replace(config.network)
    object.__setattr__(broken, "channels", 0)
    real = driver.start_workers
    monkeypatch.setattr(driver, "start_workers",
                        lambda count, game, network, *a, **k: real(count, game, broken, *a, **k))
    started = time.time()
    with pytest.raises(TrainingError, match="self-play worker 0 failed 3 times in a row.*"
                                            "the last error: "):
        driver.train(config, run_dir=tmp_path / "run", progress=False)
    assert time.time() - started < 120


@pytest.mark.slow
def test_a_replacement_that_cannot_be_placed_leaves_fewer_workers(tmp_path, monkeypatch,
                                                                  caplog):
    import ray

    from alphazero.train import driver, supervise
    from selfplay.actors import SelfPlayActor

    monkeypatch.setattr(supervise, "PLACEMENT_TIMEOUT_S", 1.0)
    real = driver.start_workers

    def start_workers(count, game, network, params, config, *, seed, server, first_id=0,
                      learned=None, backend="auto", root_share=0.0):
        if first_id == 0:
            return real(count, game, network, params, config, seed=seed, server=server,
                        learned=learned, backend=backend, root_share=root_share)
        actor = ray.remote(num_cpus=1, resources={"a_node_that_is_gone": 1})(SelfPlayActor)
        return [actor.remote(game, network, params, config, worker_id=first_id, seed=seed,
                             server=server, learned=learned, backend=backend,
                             root_share=root_share)]

    publish = driver._Trainer._publish

    def publish_then_kill_worker_1(self):
        publish(self)
        if self.version == 3:  # the run is going: worker 1's process dies
            ray.kill(self.workers[1], no_restart=True)

    monkeypatch.setattr(driver, "start_workers", start_workers)
    monkeypatch.setattr(driver._Trainer, "_publish", publish_then_kill_worker_1)
    config = load_config("tictactoe", TINY + ["train.eval_every=0", "train.steps=120",
                                              "train.checkpoint_every=1000"])
    with caplog.at_level(logging.INFO):
        result = driver.train(config, run_dir=tmp_path / "run", progress=False)
    assert result.step == 120
    assert "self-play worker 1 failed" in caplog.text
    assert "self-play worker 1 could not be placed in 1 s" in caplog.text
    assert "carrying on with 1 of 2 workers" in caplog.text


@pytest.mark.slow
def test_a_killed_learner_ends_the_run_with_one_line_naming_resume(tmp_path):
    run_dir = tmp_path / "run"
    proc = start_run(run_dir)
    try:
        wait_for_checkpoint(proc, run_dir)
        learners = [pid for pid, _ in descendants(proc.pid)
                    if cmdline(pid).startswith("ray::LearnerActor")]
        assert len(learners) == 1, [cmdline(pid) for pid, _ in descendants(proc.pid)]
        os.kill(learners[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        kill_tree(proc)
    assert proc.returncode == 1, err[-3000:]
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("alphazero train: error: the learner died at step ")
    # it names the checkpoint it saved (step 10 on a fast machine is step_00000010.pt)
    assert f"'alphazero train --resume {run_dir}'" in last
    assert re.search(r"last checkpoint \(step_\d{8}\.pt\)", last), last


@pytest.mark.slow
def test_sigterm_to_the_driver_shuts_its_local_ray_down(tmp_path):
    run_dir = tmp_path / "run"
    proc = start_run(run_dir)
    try:
        wait_for_checkpoint(proc, run_dir)
        started = descendants(proc.pid)
        names = " ".join(cmdline(pid) for pid, _ in started)
        assert "raylet" in names and "ray::SelfPlayActor" in names
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        deadline = time.time() + 20
        while alive(started) and time.time() < deadline:
            time.sleep(0.5)
        left = [cmdline(pid) for pid in alive(started)]
    finally:
        kill_tree(proc)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "interrupted"
    assert left == [], left


@pytest.mark.slow
def test_a_killed_selfplay_worker_is_replaced_and_training_goes_on(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "alphazero", "train", "tictactoe", "--run-dir", str(run_dir),
         "--no-progress", *sets(*TINY, "train.checkpoint_every=2", "train.eval_every=0",
                                "train.steps=60", "selfplay.workers=2")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_checkpoint(proc, run_dir)
        workers = [pid for pid, _ in descendants(proc.pid)
                   if cmdline(pid).startswith("ray::SelfPlayActor")]
        assert len(workers) == 2, [cmdline(pid) for pid, _ in descendants(proc.pid)]
        os.kill(workers[0], signal.SIGKILL)
        out, err = proc.communicate(timeout=300)
    finally:
        kill_tree(proc)
    assert proc.returncode == 0, err[-3000:]
    assert "failed" in err and "starting a new one" in err, err[-3000:]
    assert "Trained for 60 steps" in out


@pytest.mark.slow
def test_killed_at_random_moments_resumes_from_the_last_checkpoint(tmp_path):
    """kill -9 of the whole run at a random moment (checkpoints every step, so often while
    one is written), three times, each followed by --resume: step and replay buffer continue
    from the newest checkpoint, no partial file is left, TensorBoard keeps one point a step."""
    import random

    from alphazero.train.replay import ReplayBuffer

    run_dir = tmp_path / "run"
    settings = sets(*TINY, "train.checkpoint_every=1", "train.eval_every=0",
                    "train.keep_checkpoints=3", "train.steps=100000")
    chooser = random.Random()
    previous: tuple = ()  # the newest checkpoint and buffer after the last round
    kept: list = []
    for round_ in range(3):
        where = ["tictactoe", "--run-dir", str(run_dir)] if round_ == 0 else [
            "--resume", str(run_dir)]
        before = rundir.list_checkpoints(run_dir)
        proc = subprocess.Popen([sys.executable, "-m", "alphazero", "train", *where,
                                 "--no-progress", *settings],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 240
            # Past the start (a new checkpoint written), then a random moment.
            while rundir.list_checkpoints(run_dir)[-1:] == before[-1:]:
                assert proc.poll() is None, proc.stderr.read()[-3000:]
                assert time.time() < deadline, "no new checkpoint after 240 s"
                time.sleep(0.05)
            time.sleep(chooser.uniform(0.0, 3.0))
        finally:
            kill_tree(proc)
        err = proc.stderr.read()
        if round_ > 0:
            step, path = previous
            assert f"resumed from {path}: step {step}" in err, err[-3000:]
        step, path = rundir.list_checkpoints(run_dir)[-1]
        previous = step, path
        saved = ReplayBuffer.load(rundir.replay_path(path)).contents()
        if round_ > 0:  # the resumed run kept every position of the one it resumed
            for old, new in zip(kept, saved):
                np.testing.assert_array_equal(new[: len(old)], old)
        kept = saved
    step, path = previous
    target = step + 3
    proc = subprocess.run([sys.executable, "-m", "alphazero", "train", "--resume",
                           str(run_dir), "--no-progress", *settings[:-1],
                           f"train.steps={target}"],
                          capture_output=True, text=True, timeout=400, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"resumed from {path}: step {step}" in proc.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["start_step"] == step and summary["step"] == target
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    losses = [s for s, _ in tensorboard_scalars(run_dir)["losses/total"]]
    assert losses == sorted(set(losses)) and losses[-1] == target  # no stale, no repeats
