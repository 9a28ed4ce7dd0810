"""`alphazero train` end to end: a tiny tic-tac-toe run, and resuming after a kill."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from alphazero.cli import main
from alphazero.train import rundir
from alphazero.train.replay import ReplayBuffer

TINY = [
    "network.blocks=1",
    "network.channels=8",
    "network.value_hidden=8",
    "search.simulations=8",
    "selfplay.games_per_worker=8",
    "selfplay.report_seconds=0.5",
    "train.batch_size=16",
    "train.min_buffer=16",
    "train.buffer_size=100000",
    "train.publish_every=1",
]


def sets(*items):
    return [arg for item in items for arg in ("--set", item)]


def run_cli(*args, timeout=400):
    return subprocess.run(
        [sys.executable, "-m", "alphazero", "train", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def train_tiny(run_dir, *overrides):
    """A tiny tic-tac-toe run in ``run_dir`` with ``TINY`` and ``overrides`` (key=value)."""
    return run_cli("tictactoe", "--run-dir", str(run_dir), "--no-progress",
                   *sets(*TINY, *overrides))


@pytest.mark.slow
def test_two_iterations_end_to_end(tmp_path):
    run_dir = tmp_path / "run"
    proc = train_tiny(run_dir, "train.steps=2", "train.checkpoint_every=1", "train.eval_every=2",
                      "train.eval_games=2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Token authentication" not in proc.stderr  # asked for explicitly: no warning
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["step"] == 2 and summary["games"] > 0 and summary["positions"] >= 16
    assert "Trained for 2 steps" in proc.stdout and "Strength at step 2" in proc.stdout
    assert summary["evaluation"], "the ladder ran at the last step"
    assert [s for s, _ in rundir.list_checkpoints(run_dir)] == [1, 2]
    assert (run_dir / "checkpoints" / "step_00000002.replay.npz").is_file()
    assert (run_dir / "checkpoints" / "best.pt").is_file()
    assert rundir.read_config(run_dir).train.steps == 2  # the resolved config was saved
    tags = tensorboard_tags(run_dir)
    assert {
        "losses/policy",
        "losses/value",
        "charts/policy_entropy",
        "charts/selfplay_games_per_s",
        "charts/buffer_size",
    } <= tags
    assert any(tag.startswith("eval/") for tag in tags)
    assert "evaluating the network of step 2" in proc.stderr  # the final ladder is announced
    strict_json((run_dir / "summary.json").read_text())  # no Infinity (Elo of a 100% score)
    values = tensorboard_scalars(run_dir)
    bad = {tag: v for tag, points in values.items() for _, v in points if not np.isfinite(v)}
    assert not bad, bad


@pytest.mark.slow
def test_time_budget_ends_the_run_with_a_checkpoint(tmp_path):
    from nets.checkpoint import load_checkpoint

    run_dir = tmp_path / "run"
    proc = train_tiny(run_dir, "train.steps=1000000", "train.minutes=0.25", "train.eval_every=0",
                      "train.checkpoint_every=1000000")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert 0 < summary["step"] < 1_000_000
    steps = [s for s, _ in rundir.list_checkpoints(run_dir)]
    assert steps == [summary["step"]], "the run ends with a checkpoint of its last step"
    extra = load_checkpoint(rundir.checkpoint_path(run_dir, summary["step"]))
    assert 15 <= extra["elapsed_seconds"] < 120
    assert "at most 0.25 minutes" in proc.stderr + proc.stdout
    # Resuming with a larger budget spends only the rest of it.
    first = summary["step"]
    proc = run_cli("--resume", str(run_dir), "--no-progress", *sets("train.minutes=0.5"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The resume names the buffer the summary said the last checkpoint saved.
    saved = f"{summary['checkpoint_buffer_size']:,} positions in the replay buffer saved with"
    assert saved in proc.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["step"] > first
    resumed = load_checkpoint(rundir.checkpoint_path(run_dir, summary["step"]))
    assert 30 <= resumed["elapsed_seconds"] < extra["elapsed_seconds"] + 60


def tensorboard_tags(run_dir: Path) -> set:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir))
    events.Reload()
    return set(events.Tags()["scalars"])


def tensorboard_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] as TensorBoard's EventAccumulator serves them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]}


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the training process, then whatever it started that is still alive.

    Processes are identified by pid and start time, so a reused pid is never hit.
    """
    table = _processes()
    found, frontier = [], [proc.pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in table.items() if ppid == parent]
        found += [(pid, table[pid][1]) for pid in children]
        frontier += children
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(2)
    now = _processes()
    for pid, started in found:
        if pid in now and now[pid][1] == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.slow
def test_resume_after_kill_continues_step_and_buffer(tmp_path):
    run_dir = tmp_path / "run"
    args = [
        "--no-progress",
        *sets(*TINY, "train.checkpoint_every=3", "train.eval_every=0", "train.sample_reuse=1.0"),
    ]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "alphazero",
            "train",
            "tictactoe",
            "--run-dir",
            str(run_dir),
            *args,
            "--set",
            "train.steps=1000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 300
        while len(rundir.list_checkpoints(run_dir)) < 2:  # killed between checkpoints
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.time() < deadline, "no checkpoint after 300 s"
            time.sleep(0.2)
    finally:
        kill_tree(proc)
    step, path = rundir.list_checkpoints(run_dir)[-1]
    buffer = ReplayBuffer.load(rundir.replay_path(path))
    saved = buffer.contents()
    # Train past what the saved positions allow (reuse 1, batch 16), so new games are needed.
    target = buffer.total_added // 16 + 2

    resumed = run_cli("--resume", str(run_dir), *args, "--set", f"train.steps={target}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from {path}: step {step}" in resumed.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["start_step"] == step and summary["step"] == target
    final_step, final = rundir.list_checkpoints(run_dir)[-1]
    assert final_step == target
    after = ReplayBuffer.load(rundir.replay_path(final)).contents()
    n = len(saved[0])
    assert len(after[0]) > n  # new games were added after the saved ones ...
    for old, new in zip(saved, after):  # ... and none of the saved ones was lost
        np.testing.assert_array_equal(new[:n], old)


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["train"]) == 2
    assert "give a CONFIG" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert main(["train", "tictactoe", "--set", "train.optimizer=adam"]) == 2
    assert "sgd or adamw" in capsys.readouterr().err


def test_missing_evaluation_module_is_logged(monkeypatch, caplog):
    from alphazero.train import remote as train

    monkeypatch.setitem(sys.modules, "alphazero.eval.matches", None)  # import fails
    with caplog.at_level(logging.WARNING):
        assert not train.evaluation_available()
    assert "evaluation ladder unavailable" in caplog.text


def test_local_runs_ask_for_ray_token_authentication(monkeypatch):
    from alphazero.cli.train import choose_ray_auth

    # Recorded first, so that teardown restores the variable whatever the calls set: a
    # RAY_AUTH_MODE left behind would not match the Ray this process has already imported.
    monkeypatch.setenv("RAY_AUTH_MODE", "unset")
    monkeypatch.delenv("RAY_AUTH_MODE")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were already imported
    choose_ray_auth(None)
    assert "RAY_AUTH_MODE" not in os.environ  # too late: Ray read the mode at its import
    monkeypatch.delitem(sys.modules, "ray")
    choose_ray_auth("10.0.0.5:6379")
    assert "RAY_AUTH_MODE" not in os.environ  # a joined cluster's own mode decides
    choose_ray_auth(None)
    assert os.environ["RAY_AUTH_MODE"] == "token"
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    choose_ray_auth(None)
    assert os.environ["RAY_AUTH_MODE"] == "disabled"  # the user's choice stands


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity (Python's json accepts them; others do not)."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_summary_json_is_strict_and_names_the_saved_buffer(tmp_path):
    from alphazero.train.log import TrainResult

    result = TrainResult(run_dir=tmp_path, step=10, start_step=0, seconds=5.0, games=40,
                         positions=15_750, simulations=1000, losses={"losses/value": float("nan")},
                         evaluation={"elo/vs_random": 300.0, "elo/vs_random_high": float("inf")},
                         evaluation_step=10, checkpoint=tmp_path / "step_00000010.pt",
                         buffer_size=15_750, checkpoint_buffer_size=15_100)
    data = strict_json(json.dumps(result.as_json(), allow_nan=False))
    assert data["evaluation"]["elo/vs_random_high"] is None
    assert data["losses"]["losses/value"] is None
    text = result.summary()
    assert "15,750 in the replay buffer at the end (15,100 saved with the last checkpoint" in text


def test_the_bar_says_the_buffer_is_filling():
    from alphazero.train.log import bar_postfix

    text = bar_postfix(loss=None, games=3, games_per_s=1.5, buffer_size=45, min_buffer=1000,
                       minutes_left=None)
    assert text.startswith("filling the buffer: 45/1,000 positions")
    text = bar_postfix(loss=0.5, games=3, games_per_s=1.5, buffer_size=2000, min_buffer=1000,
                       minutes_left=2.0)
    assert text.startswith("loss 0.500") and text.endswith("2 min left")
    text = bar_postfix(loss=0.5, games=3, games_per_s=1.5, buffer_size=2000, min_buffer=1000,
                       minutes_left=None, cpu_minutes_left=41.6)
    assert text.endswith(", 42 CPU min left") and " min left" not in text[:-len("42 CPU min left")]


@pytest.mark.slow
def test_tandem_search_training_end_to_end_and_resumed(tmp_path):
    """search_training: the learned search trains beside the network with no solver; the
    run writes search.pt and TensorBoard search/* figures, the ladder searches with the
    trained weights and the run's clock, and --resume carries on the search's training."""
    from nets.search_weights import LearnedSearch

    run_dir = tmp_path / "run"
    tandem = ("search.arm=learned", "search_training.enabled=true",
              "search_training.root_share=0.5", "search_training.positions_per_batch=4",
              "train.publish_every=4", "train.checkpoint_every=12", "train.eval_every=12",
              "train.eval_games=2", "search_training.backup_pairs=2")
    proc = train_tiny(run_dir, *tandem, "train.steps=12")
    assert proc.returncode == 0, proc.stderr[-3000:]
    learned = LearnedSearch.load(run_dir / "search.pt", expected_game="tictactoe")
    assert learned.meta["step"] == 12 and learned.weights().selection[-17:].any()
    scalars = tensorboard_scalars(run_dir)
    trained = scalars["search/iterations"][-1][1]
    assert trained >= 2 and "search/teacher_agreement" in scalars
    assert "search/backup_agreement" in scalars and learned.backup.shape == (4,)  # ES on
    header = (run_dir / "evaluation.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["step", "elapsed_seconds", "cpu_seconds"]
    proc = run_cli("--resume", str(run_dir), "--no-progress", "--set", "train.steps=24")
    assert proc.returncode == 0, proc.stderr[-3000:]
    scalars = tensorboard_scalars(run_dir)
    iterations = [v for _, v in scalars["search/iterations"]]
    assert iterations[-1] > trained and iterations == sorted(iterations)  # carried on
    assert LearnedSearch.load(run_dir / "search.pt").meta["step"] == 24


@pytest.mark.slow
def test_a_cpu_time_budget_ends_the_run(tmp_path):
    """train.cpu_minutes: the workers' and learner's CPU time is the run's clock."""
    from nets.checkpoint import load_checkpoint

    run_dir = tmp_path / "run"
    proc = train_tiny(run_dir, "train.steps=1000000", "train.cpu_minutes=0.4",
                      "train.eval_every=0", "train.checkpoint_every=1000000")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "at most 0.4 CPU minutes" in proc.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    extra = load_checkpoint(rundir.checkpoint_path(run_dir, summary["step"]))
    assert 24 <= extra["cpu_seconds"] < 24 + 20
    assert extra["elapsed_seconds"] < 120


class _Clock:
    """A stand-in for ``time.monotonic`` that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def _games(n: int) -> dict:
    """The stats of one worker's ``play`` call of ``n`` games of 9 moves."""
    return {"games": n, "simulations": 72 * n, "moves": 9 * n, "resign_checks": 0,
            "false_positives": 0, "resignations": 0, "draws": n, "first_player_wins": 0,
            "positions": 9 * n, "game_lengths": [9] * n}


def _meter(monkeypatch):
    from alphazero.train import log

    clock = _Clock()
    monkeypatch.setattr(log, "time", clock)
    return log.SelfPlayMeter(), clock


def _steady(meter, clock, seconds: float) -> list[float]:
    """2 games every 2 s (1 game/s) for ``seconds``, a window checked at each batch as the
    driver does; the games/s of the windows given."""
    rates = []
    for _ in range(int(seconds / 2)):
        clock.now += 2.0
        meter.add(_games(2))
        window = meter.window()
        if window is not None:
            rates.append(window["charts/selfplay_games_per_s"])
    return rates


def test_a_short_last_window_is_no_spike_of_games_per_s(monkeypatch):
    meter, clock = _meter(monkeypatch)
    assert _steady(meter, clock, 40) == pytest.approx([1.0] * 4)
    clock.now += 0.2  # the last step comes 0.2 s after a batch of 2 games: 10 games/s
    meter.add(_games(2))
    assert meter.last_window() is None
    # (what the end of the curve would have been with the last window always written)
    assert meter.window(min_seconds=0.0)["charts/selfplay_games_per_s"] == pytest.approx(10.0)


def test_a_long_enough_last_window_is_written(monkeypatch):
    meter, clock = _meter(monkeypatch)
    _steady(meter, clock, 20)
    _steady(meter, clock, 6)  # 6 s: shorter than a window of the loop, not too short to trust
    clock.now += 0.5
    window = meter.last_window()
    assert window["charts/selfplay_games_per_s"] == pytest.approx(6 / 6.5)
    assert window["charts/game_length"] == 9 and window["charts/draw_rate"] == 1


def test_a_session_with_one_short_window_still_gets_its_point(monkeypatch):
    """A short run, or a short resumed session: its only window starts when self-play does
    (Ray's start-up is not in it), so it can be slow but is no spike."""
    meter, clock = _meter(monkeypatch)
    clock.now = 30.0  # Ray and the workers starting
    meter.restart_window()
    _steady(meter, clock, 4)
    window = meter.last_window()
    assert window["charts/selfplay_games_per_s"] == pytest.approx(1.0)
    assert meter.last_window() is None  # no games since: nothing to write


@pytest.mark.slow
def test_the_address_probe_lets_a_real_ray_cluster_through():
    """The probe of --address asks for gRPC's HTTP/2 answer: Ray's GCS gives it."""
    import ray

    from alphazero.cli.train import check_address

    ray.init(num_cpus=1, include_dashboard=False, logging_level=logging.WARNING)
    try:
        check_address(ray.get_runtime_context().gcs_address)  # no UsageError
    finally:
        ray.shutdown()
