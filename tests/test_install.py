"""A plain install works: build the wheel, install it (not editable) into a fresh virtualenv,
and run `alphazero analyse` and a short `alphazero train` from a directory outside the clone.

The virtualenv is made with ``--system-site-packages`` so that torch, Ray and the other
dependencies already installed are reused instead of downloaded again (pip still resolves
them against the wheel's requirements). The project itself comes only from the wheel: the
test checks that every package, the shipped configs and checkpoints, and the version are
read from the virtualenv's site-packages, not from this repository (``PYTHONPATH`` is
dropped, and an editable install of the clone, if any, is shadowed by the wheel's files).
About two minutes, most of it Numba compiling the kernels afresh and the training run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "alphazero-learned-search"
PACKAGES = ("alphazero", "games", "search", "nets", "selfplay")
SHORT_TRAIN = ("train.steps=2", "train.minutes=1", "selfplay.games_per_worker=16",
               "train.min_buffer=64", "train.batch_size=32", "train.eval_every=2",
               "train.eval_games=2")

pytestmark = pytest.mark.slow


def run(args, *, cwd: Path, env: dict, timeout: float, stdin: str | None = None):
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False)


def copy_source(dest: Path) -> Path:
    """The files a fresh clone holds (tracked, or new and not ignored), copied to ``dest``:
    the build then writes its build/ and *.egg-info there, and no stale build output of this
    checkout can slip into the wheel."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=ROOT, capture_output=True, check=False)
    if listing.returncode != 0:  # not a git checkout: the tree less the usual droppings
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(
            ".git", "build", "dist", "runs", "*.egg-info", "__pycache__", ".*_cache"))
        return dest
    for name in filter(None, listing.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv directory, its environment, a working directory outside the clone)."""
    tmp = tmp_path_factory.mktemp("install")
    source = copy_source(tmp / "source")
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME",
                                                            "VIRTUAL_ENV")}
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", tmp / "dist",
                 source], cwd=elsewhere, env=env, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (tmp / "dist").glob("alphazero_learned_search-*.whl")
    venv = tmp / "venv"
    made = run([sys.executable, "-m", "venv", "--system-site-packages", venv], cwd=elsewhere,
               env=env, timeout=300)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    pip = run([python, "-m", "pip", "install", wheel], cwd=elsewhere, env=env, timeout=900)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return venv, env, elsewhere


def test_everything_is_imported_from_the_virtualenv(installed):
    venv, env, elsewhere = installed
    script = textwrap.dedent(f"""
        import importlib, importlib.metadata, json
        import alphazero, alphazero.config, nets.loader
        modules = {{name: importlib.import_module(name).__file__ for name in {PACKAGES!r}}}
        print(json.dumps({{
            "modules": modules,
            "configs": str(alphazero.config.CONFIG_DIR),
            "checkpoints": str(nets.loader.SHIPPED_DIR),
            "metadata": str(importlib.metadata.distribution({DISTRIBUTION!r}).locate_file("")),
            "version": alphazero.__version__,
            "expected_version": importlib.metadata.version({DISTRIBUTION!r}),
        }}))
    """)
    proc = run([venv / "bin" / "python", "-c", script], cwd=elsewhere, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.splitlines()[-1])
    site = venv.resolve()
    paths = [*found["modules"].values(), found["configs"], found["checkpoints"],
             found["metadata"]]
    for path in map(Path, paths):
        assert path.resolve().is_relative_to(site), f"{path} is not in the virtualenv"
        assert not path.resolve().is_relative_to(ROOT), f"{path} comes from the clone"
    assert {p.name for p in Path(found["configs"]).glob("*.yaml")} >= {
        "tictactoe.yaml", "connect4.yaml", "chess.yaml"}
    assert {p.name for p in Path(found["checkpoints"]).glob("*.pt")} >= {
        "tictactoe.pt", "connect4.pt", "chess.pt", "connect4_search.pt"}
    assert found["version"] == found["expected_version"] != "0+unknown"


def test_analyse_from_another_directory(installed):
    venv, env, elsewhere = installed
    proc = run([venv / "bin" / "alphazero", "analyse", "connect4", "--sims", "16"],
               cwd=elsewhere, env=env, stdin="4453\n", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = proc.stdout.splitlines()
    record = json.loads(line)
    assert record["position"] == "4453" and record["move"] in "1234567"
    assert f"shipped connect4 checkpoint {venv.resolve()}" in proc.stderr  # the wheel's checkpoint


def test_short_training_run_from_another_directory(installed):
    venv, env, elsewhere = installed
    run_dir = elsewhere / "run"
    sets = [arg for item in SHORT_TRAIN for arg in ("--set", item)]
    proc = run([venv / "bin" / "alphazero", "train", "tictactoe", "--no-progress",
                "--run-dir", run_dir, *sets], cwd=elsewhere, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Token authentication" not in proc.stderr  # Ray's warning (alphazero.cli.train)
    assert "Trained for 2 steps" in proc.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["step"] == 2 and summary["games"] > 0
    assert (run_dir / "config.yaml").is_file() and (run_dir / "checkpoints" / "best.pt").is_file()


def test_chess_oracle_sets_come_with_the_wheel(installed):
    """ablate chess and the chess benchmarks read their positions from package data."""
    venv, env, elsewhere = installed
    script = ("import json; from alphazero.eval import chess_oracle as o; "
              "sets = o.oracle_sets(); print(json.dumps({'file': str(o.WAC_FILE), "
              "'sizes': {k: len(v.positions) for k, v in sets.items()}}))")
    proc = run([venv / "bin" / "python", "-c", script], cwd=elsewhere, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.splitlines()[-1])
    assert Path(found["file"]).resolve().is_relative_to(venv.resolve())
    assert found["sizes"] == {"heldout": 114, "wac": 300}
