"""A two-node Ray cluster on this machine: `alphazero train --address` puts a worker on each.

Both nodes are started with the `ray` CLI in a private temp directory and stopped by pid at the
end (`ray stop` would also stop every other Ray instance on the machine).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

RAY = shutil.which("ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_pids(temp_dir: str) -> list[int]:
    """Processes of the test cluster: their command line or an open file is in its temp dir.

    (Ray renames some of its processes, e.g. ``ray::IDLE``, but they keep their log files open.)
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            mine = temp_dir in (entry / "cmdline").read_bytes().decode(errors="replace")
            if not mine:
                for fd in (entry / "fd").iterdir():
                    try:
                        if os.readlink(fd).startswith(temp_dir):
                            mine = True
                            break
                    except OSError:
                        continue
        except OSError:
            continue
        if mine:
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def two_node_cluster():
    if RAY is None:
        pytest.skip("the `ray` command-line tool is not installed")
    temp_dir = tempfile.mkdtemp(prefix="azray")  # short: Ray's socket paths must stay short
    port = free_port()
    address = f"127.0.0.1:{port}"
    # A private test cluster on 127.0.0.1: no token authentication between its processes.
    env = {**os.environ, "RAY_ADDRESS": "", "RAY_AUTH_MODE": "disabled"}
    store = "--object-store-memory=200000000"
    try:
        subprocess.run(
            [
                RAY,
                "start",
                "--head",
                f"--port={port}",
                "--num-cpus=1",
                store,
                f"--temp-dir={temp_dir}",
                "--include-dashboard=false",
                "--node-ip-address=127.0.0.1",
            ],
            check=True,
            capture_output=True,
            env=env,
            timeout=180,
        )
        subprocess.run(
            [
                RAY,
                "start",
                f"--address={address}",
                "--num-cpus=1",
                store,
                "--resources",
                '{"node2": 1}',
                "--node-ip-address=127.0.0.1",
            ],
            check=True,
            capture_output=True,
            env=env,
            timeout=180,
        )
        yield address, env, temp_dir
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in cluster_pids(temp_dir):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            time.sleep(3)
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.slow
def test_training_spreads_workers_over_two_nodes(two_node_cluster, tmp_path):
    run_dir = tmp_path / "run"
    settings = [
        "network.blocks=1",
        "network.channels=8",
        "search.simulations=8",
        "selfplay.workers=2",
        "selfplay.games_per_worker=8",
        "selfplay.report_seconds=0.5",
        "train.batch_size=16",
        "train.min_buffer=1500",  # both nodes must contribute, even with a slow-starting node
        "train.buffer_size=4000",
        "train.steps=4",
        "train.publish_every=2",
        "train.checkpoint_every=4",
        "train.eval_every=0",
    ]
    address, env, _ = two_node_cluster
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "alphazero",
            "train",
            "tictactoe",
            "--address",
            address,
            "--run-dir",
            str(run_dir),
            "--no-progress",
            *[arg for s in settings for arg in ("--set", s)],
        ],
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 self-play workers on 2 node(s)" in proc.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["step"] == 4
    games = summary["games_by_node"]
    assert len(games) == 2 and all(n > 0 for n in games.values()), games


def worker_node_raylet(temp_dir: str) -> int:
    """The pid of the second node's raylet (its socket is ``raylet.1``; the head's ``raylet``)."""
    for pid in cluster_pids(temp_dir):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if command.split(" ", 1)[0].endswith("/raylet") and "sockets/raylet.1 " in command:
            return pid
    raise AssertionError("no raylet of the second node")


@pytest.mark.slow
def test_training_goes_on_on_the_head_when_the_worker_node_is_lost(two_node_cluster,
                                                                   tmp_path):
    """The worker node's raylet is killed mid-run: its worker fails, its replacement waits
    for a CPU (the head's one is taken; given up after supervise.PLACEMENT_TIMEOUT_S), and
    the run goes on with the head's worker to its last step and final checkpoint."""
    run_dir = tmp_path / "run"
    settings = [
        "network.blocks=1", "network.channels=8", "search.simulations=8",
        "selfplay.workers=2", "selfplay.games_per_worker=8", "selfplay.report_seconds=0.5",
        "train.batch_size=16", "train.min_buffer=64", "train.buffer_size=100000",
        "train.steps=400", "train.publish_every=2", "train.checkpoint_every=20",
        "train.eval_every=0",
    ]
    address, env, temp_dir = two_node_cluster
    proc = subprocess.Popen(
        [sys.executable, "-m", "alphazero", "train", "tictactoe", "--address", address,
         "--run-dir", str(run_dir), "--no-progress",
         *[arg for s in settings for arg in ("--set", s)]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 300
        while not (run_dir / "checkpoints").is_dir() or not any(
                p.name.startswith("step_") for p in (run_dir / "checkpoints").iterdir()):
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.time() < deadline, "no checkpoint after 300 s"
            time.sleep(0.5)
        os.kill(worker_node_raylet(temp_dir), signal.SIGKILL)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-3000:]
    assert "2 self-play workers on 2 node(s)" in err
    # SPREAD puts one worker on each node, either one on the worker node
    assert re.search(r"self-play worker [01] failed", err) and "starting a new one" in err, \
        err[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["step"] == 400 and summary["checkpoint"].endswith("step_00000400.pt")
