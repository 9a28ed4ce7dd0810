"""A training run's directory: its config, checkpoints, replay files and logs.

runs/<game>-<timestamp>/
    config.yaml                       the resolved config (what --resume uses)
    checkpoints/step_00000600.pt      model, optimizer, step, RNG states, counters
    checkpoints/step_00000600.replay.npz   the replay buffer that checkpoint names
    checkpoints/best.pt               the network with the best ladder result (model only)
    events.out.tfevents.*             TensorBoard logs
    evaluation.csv                    one row per ladder run (written by the ladder)
    summary.json                      figures of the last finished run
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from alphazero.config import Config, load_config, to_dict
from nets.files import atomic_write_text

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
BEST_NAME = "best.pt"
SEARCH_NAME = "search.pt"
"""The learned search trained in tandem (search_training), in the run directory."""
_STEP_FILE = re.compile(r"^step_(\d+)\.pt$")


def new_run_dir(game: str, root: str | Path = "runs") -> Path:
    """``runs/<game>-<YYYYmmdd-HHMMSS>`` (a suffix is added if it exists)."""
    base = Path(root) / f"{game}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def write_config(run_dir: Path, config: Config) -> None:
    text = "# The resolved config of this run; alphazero train --resume reads it.\n"
    atomic_write_text(
        run_dir / "config.yaml", text + yaml.safe_dump(to_dict(config), sort_keys=False)
    )


def read_config(run_dir: Path, overrides: list[str] | None = None) -> Config:
    path = run_dir / "config.yaml"
    return load_config(str(path), overrides)


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return run_dir / CHECKPOINT_DIR / f"step_{step:08d}.pt"


def replay_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name[: -len(".pt")] + ".replay.npz")


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of the run's step checkpoints, oldest first."""
    directory = run_dir / CHECKPOINT_DIR
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _STEP_FILE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def prune_checkpoints(run_dir: Path, keep: int, protect: frozenset[Path] = frozenset()) -> None:
    """Delete all but the newest ``keep`` step checkpoints, each with its replay file.

    Checkpoints in ``protect`` (still read by a running evaluation) wait for a later prune.
    """
    for _, path in list_checkpoints(run_dir)[:-keep]:
        if path in protect:
            continue
        for victim in (path, replay_path(path)):
            victim.unlink(missing_ok=True)


def remove_partial_files(run_dir: Path) -> int:
    """Delete the temporary files of atomic writes (``nets.files.atomic_write``) that a killed
    process left in the run's checkpoint directory; return how many. Only a resume calls it,
    when no process of the run is writing."""
    directory = run_dir / CHECKPOINT_DIR
    if not directory.is_dir():
        return 0
    partial = [p for p in directory.iterdir()
               if p.name.startswith(".") and p.name.endswith(".tmp") and p.is_file()]
    for path in partial:
        path.unlink(missing_ok=True)
    return len(partial)


def restore_latest(run_dir: Path, restore: Callable[[Path], Any]) -> tuple[Path, Any]:
    """Call ``restore(path)`` on the newest checkpoint, falling back to older ones.

    A checkpoint (or its replay file) that ``restore`` cannot read is skipped: one warning
    names those skipped once one is restored. Raises ``FileNotFoundError``, one line naming
    each and why, when there is no usable checkpoint (then nothing is logged above debug).
    """
    candidates = list_checkpoints(run_dir)
    if not candidates:
        raise FileNotFoundError(f"no checkpoint to resume from in {run_dir / CHECKPOINT_DIR}")
    errors = []
    for _, path in reversed(candidates):
        try:
            restored = restore(path)
        except Exception as err:  # noqa: BLE001 - any failure means "try the previous one"
            logger.debug("checkpoint %s is unreadable", path, exc_info=True)
            lines = str(err).strip().splitlines()
            errors.append(f"{path.name}: {lines[-1] if lines else repr(err)}")
            continue
        if errors:
            logger.warning("resuming from %s: skipped the newer, unreadable %s", path.name,
                           "; ".join(errors))
        return path, restored
    raise FileNotFoundError(
        f"no readable checkpoint in {run_dir / CHECKPOINT_DIR}: " + "; ".join(errors)
    )


def config_summary(config: Config) -> str:
    """One line naming the settings people look at first."""
    n, s, sp, t = config.network, config.search, config.selfplay, config.train
    sims = sp.simulations or s.simulations
    return (
        f"{config.game}: net {n.blocks}x{n.channels}, {s.arm} {sims} sims in self-play, "
        f"{sp.workers} workers x {sp.games_per_worker} games, {t.steps} steps of "
        f"{t.batch_size} ({t.optimizer}, lr {t.lr})"
        + (f", at most {t.minutes:g} minutes" if t.minutes > 0 else "")
        + (f", at most {t.cpu_minutes:g} CPU minutes" if t.cpu_minutes > 0 else "")
    )
