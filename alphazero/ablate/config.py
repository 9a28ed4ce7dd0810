"""The ablation study's configuration: ``AblationConfig`` and its YAML loader.

Also the names every part of the study shares: the arms (``ARMS``, the baseline ``BASELINE``),
the metrics and the seeds of the three labelled splits. ``alphazero.ablate.study`` runs the studies.
"""

from __future__ import annotations

import dataclasses
import glob
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alphazero.config import (
    METHODS,
    ConfigError,
    TrainSearchConfig,
    apply_overrides,
    build,
    config_path,
    read_yaml,
)
from nets.backends import BACKENDS
from search.params import MAX_SIMULATIONS

ARMS = ("policy", "puct", "puct_tuned", "gumbel", "gumbel_greedy", "learned_readout",
        "learned_selection", "learned_backup", "learned")
"""``gumbel`` samples Gumbel noise at the root when ``gumbel_noise`` is set (Gumbel AlphaZero's
self-play mode); ``gumbel_greedy`` never does (its best deterministic mode, as mctx runs it at
evaluation)."""
BASELINE = "puct_tuned"
LEARNED_ARMS = ("learned_readout", "learned_selection", "learned_backup", "learned")
"""``learned`` is every learned part the weights hold (selection, readout, and the backup when
trained); the others one part alone on PUCT's."""
SOLVER_GAMES = ("connect4", "tictactoe")
"""Games whose ablation is scored by a solver (labelled splits, tuned PUCT, balanced openings)."""
ORACLE_GAMES = ("chess",)
"""Games scored by a stored best-move oracle instead (``alphazero.ablate.oracle``)."""
ORACLE_BASELINE = "puct"
"""The baseline of an oracle study: with no tuning split, PUCT with the game config's constants."""
ORACLE_SETS = ("heldout", "wac")
EVALUATION_SEED, TRAINING_SEED, TUNING_SEED = 0, 1, 2
"""Labelled-position seeds of the three splits (never evaluate on the training split)."""
METRICS = ("optimal_share", "best_share", "value_error")
Log = Callable[[str], None]


# ---------------------------------------------------------------------------- config
@dataclass(frozen=True)
class LearnedTraining:
    """How ablate trains the learned search when no weights file is given: the settings of
    ``alphazero train-search``, with its defaults (``TrainSearchConfig``)."""

    iterations: int = TrainSearchConfig.iterations
    """Training iterations (``train_learned_search``)."""
    positions: int = TrainSearchConfig.positions
    """Training positions: solver-labelled, labelled seed 1."""
    batch: int = TrainSearchConfig.positions_per_batch
    """Decisions (positions) per iteration."""
    budgets: tuple[int, ...] = TrainSearchConfig.budgets
    """Simulation budgets sampled during training."""
    seed: int = TrainSearchConfig.seed
    """Seeds the network initialisation and the sampling of decisions."""
    method: str = TrainSearchConfig.method
    """Gradient of the selection (``TrainSearchConfig.method``): deviation or reinforce."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"train.method must be {' or '.join(METHODS)}, not {self.method!r}")
        self.search_config()  # its own bounds (budgets, counts) hold here too

    def search_config(self) -> TrainSearchConfig:
        """These settings as the trainer's config (the other fields at their defaults)."""
        return TrainSearchConfig(method=self.method, budgets=self.budgets,
                                 positions=self.positions, positions_per_batch=self.batch,
                                 iterations=self.iterations, seed=self.seed)


@dataclass(frozen=True)
class BoundaryStudy:
    """The boundary study: PUCT accuracy against the budget for a series of checkpoints."""

    checkpoints: dict = field(default_factory=dict)
    """Label -> checkpoint path, in training order; empty: checkpoint_glob, else the main ones."""
    checkpoint_glob: str = ""
    """A glob of checkpoints (e.g. runs/connect4-x/checkpoints/step_*.pt), sorted by step."""
    max_budget: int = 1024
    """Largest budget: budgets are 1, 2, 4, ... up to this (rounded up to a power of 2)."""
    positions: int = 1000
    """Evaluation positions (labelled seed 0)."""


@dataclass(frozen=True)
class AblationConfig:
    """An ablation study (``alphazero/configs/ablate_*.yaml``)."""

    game: str = "connect4"
    """connect4 or tictactoe (scored by the solver), or chess (scored by the stored Stockfish
    and Win At Chess best moves: ``alphazero.ablate.oracle``)."""
    base_config: str = ""
    """Game config for the network shape and search constants (default: the game's shipped
    alphazero/configs/GAME.yaml)."""
    checkpoints: dict = field(default_factory=dict)
    """Label -> checkpoint path (weak to strong); 'fresh' or 'fresh:SEED' is a new network."""
    learned_on: str = ""
    """Label of the checkpoint the learned search is trained on (default: the last one)."""
    learned_weights: str = ""
    """Learned search weights (train-search output); empty: train them first (see train).
    The first train.positions of labelled seed 1 are kept out of evaluation either way: set
    it to at least the number the weights were trained on."""
    arms: tuple[str, ...] = ARMS
    """Arms to compare (puct_tuned is always run: it is the baseline)."""
    budgets: tuple[int, ...] = (4, 8, 16, 32, 64, 128)
    """Simulation budgets."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Search seeds (they matter for Gumbel's noise; deterministic arms run once)."""
    positions: int = 2000
    """Evaluation positions (labelled seed ``evaluation_seed``)."""
    evaluation_seed: int = EVALUATION_SEED
    """Labelled seed of the evaluation split (and the boundary study's positions): 0, or a
    fresh seed >= 3 for a confirmatory run on positions no earlier study has looked at (1 and
    2 are the training and tuning splits)."""
    tuning_positions: int = 500
    """Positions of the tuning split (labelled seed 2) for choosing c_init."""
    c_grid: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.75, 2.5, 3.5)
    """Candidate c_init values for tuned PUCT."""
    strata: tuple[int, ...] = ()
    """Lower stone-count bounds of the strata reported separately (e.g. [16, 20, 24])."""
    openings: int = 50
    """Balanced openings for the matches; each is played twice, colours swapped. 0: no
    matches (the labelled positions only)."""
    match_checkpoints: tuple[str, ...] = ()
    """Labels of the checkpoints whose arms play the head-to-head matches (empty: all). The
    matches cost far more than the labelled positions; limiting them keeps a run in hours."""
    match_arms: tuple[str, ...] = ()
    """Arms that play tuned PUCT head to head (empty: every arm in ``arms``)."""
    opening_plies: tuple[int, ...] = (4, 8)
    """Fewest and most random plies of an opening."""
    opening_margin: int = 2
    """An opening is balanced when |solver score| <= this (0: draws only)."""
    gumbel_noise: bool = True
    """Gumbel arm samples Gumbel noise at the root (as in Gumbel AlphaZero); else deterministic."""
    batch_size: int = 128
    """Positions searched together (one network call per simulation step)."""
    resamples: int = 2000
    """Bootstrap resamples."""
    confidence: float = 0.95
    """Confidence of the bootstrap and Elo intervals."""
    threads: int = 1
    """Threads of the network backend."""
    backend: str = "auto"
    """What runs the networks (``nets.backends``): auto (ONNX Runtime when installed, else
    torch), onnx, onnx-int8, numpy or torch. A study's arms all use the same one."""
    oracle_sets: tuple[str, ...] = ORACLE_SETS
    """Chess only: the oracle sets scored (``alphazero.eval.chess_oracle``): heldout (held-out
    Stockfish positions whose best move beats the second by >= min_gap) and wac (Win At
    Chess). ``positions`` caps each set."""
    min_gap: float = 200.0
    """Chess only: centipawns by which a heldout position's best move beats the second."""
    double_budget: bool = True
    """Chess only: also search the baseline at twice each budget, and compare every arm at N
    with it at 2N (the pre-registered chess target: learned at N >= PUCT at 2N)."""
    train: LearnedTraining = field(default_factory=LearnedTraining)
    boundary: BoundaryStudy = field(default_factory=BoundaryStudy)

    def __post_init__(self) -> None:
        if self.game not in SOLVER_GAMES + ORACLE_GAMES:
            raise ValueError(f"game must be one of {', '.join(SOLVER_GAMES + ORACLE_GAMES)}, "
                             f"not {self.game!r}")
        if self.game in ORACLE_GAMES:
            self._check_oracle()
        _check_checkpoints(self.checkpoints, "checkpoints")
        _check_checkpoints(self.boundary.checkpoints, "boundary.checkpoints")
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown:
            raise ValueError(f"unknown arm {unknown[0]!r} in arms (known: {', '.join(ARMS)})")
        missing = [m for m in self.match_checkpoints if m not in self.checkpoints]
        if missing:
            raise ValueError(f"match_checkpoints: {missing[0]!r} is not a checkpoint label")
        if any(a not in self.arms or a == BASELINE for a in self.match_arms):
            raise ValueError(f"match_arms must be arms of `arms` other than {BASELINE}")
        if self.learned_on and self.learned_on not in self.checkpoints:
            raise ValueError(f"learned_on {self.learned_on!r} is not a checkpoint label")
        if not self.budgets or min(self.budgets) < 1 or not self.seeds or not self.c_grid:
            raise ValueError("budgets (>= 1), seeds and c_grid must be non-empty")
        if len(self.opening_plies) != 2 or not 0 <= self.opening_plies[0] <= \
                self.opening_plies[1]:
            raise ValueError("opening_plies must be [fewest, most] with 0 <= fewest <= most")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not "
                             f"{self.backend!r}")
        for name in ("positions", "tuning_positions", "batch_size", "resamples", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.openings < 0:
            raise ValueError("openings must be >= 0 (0: no matches)")
        if self.evaluation_seed < 0 or self.evaluation_seed in (TRAINING_SEED, TUNING_SEED):
            raise ValueError(f"evaluation_seed must be >= 0 and not {TRAINING_SEED} or "
                             f"{TUNING_SEED} (the training and tuning splits)")
        if self.boundary.max_budget < 1 or self.boundary.positions < 1:
            raise ValueError("boundary.max_budget and boundary.positions must be >= 1")
        if max(max(self.budgets), self.boundary.max_budget) > MAX_SIMULATIONS:
            raise ValueError(f"budgets and boundary.max_budget must be <= {MAX_SIMULATIONS}")

    def _check_oracle(self) -> None:
        if BASELINE in self.arms:
            raise ValueError(f"arm {BASELINE} needs a solver-labelled tuning split; on "
                             f"{self.game} the baseline is {ORACLE_BASELINE} (drop {BASELINE} "
                             "from arms)")
        unknown = [s for s in self.oracle_sets if s not in ORACLE_SETS]
        if unknown or not self.oracle_sets:
            raise ValueError(f"oracle_sets must be a non-empty list of {', '.join(ORACLE_SETS)}"
                             + (f", not {unknown[0]!r}" if unknown else ""))
        if self.wants_learned and not self.learned_weights:
            raise ValueError(f"the learned arms on {self.game} need learned_weights: train them "
                             f"with `alphazero train-search {self.game}` (its k-x search "
                             "teacher; ablate trains only against a solver)")
        if not self.min_gap >= 0:
            raise ValueError("min_gap must be >= 0 centipawns")

    @property
    def oracle(self) -> bool:
        """Scored by a stored best-move oracle (chess), not a solver."""
        return self.game in ORACLE_GAMES

    @property
    def baseline(self) -> str:
        """The arm every other is compared with."""
        return ORACLE_BASELINE if self.oracle else BASELINE

    @property
    def learned_label(self) -> str:
        return self.learned_on or (list(self.checkpoints)[-1] if self.checkpoints else "")

    @property
    def wants_learned(self) -> bool:
        return any(arm in LEARNED_ARMS for arm in self.arms)

    @property
    def ordered_arms(self) -> list[str]:
        """The arms run, the baseline first."""
        return [self.baseline] + [a for a in self.arms if a != self.baseline]


def _check_checkpoints(mapping: Any, key: str) -> None:
    if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise ValueError(f"{key} must map labels to checkpoint paths (label: path)")


def quick_config(cfg: AblationConfig) -> AblationConfig:
    """A smoke-test version of ``cfg``: two budgets, few positions, games and iterations."""
    grid = sorted(cfg.c_grid)
    return dataclasses.replace(
        cfg, budgets=tuple(sorted(cfg.budgets)[:2]), seeds=cfg.seeds[:2],
        positions=min(cfg.positions, 64), tuning_positions=min(cfg.tuning_positions, 32),
        c_grid=tuple(dict.fromkeys([grid[0], grid[len(grid) // 2], grid[-1]])),
        openings=min(cfg.openings, 2), resamples=min(cfg.resamples, 500),
        batch_size=min(cfg.batch_size, 64),
        train=dataclasses.replace(cfg.train, iterations=min(cfg.train.iterations, 3),
                                  positions=min(cfg.train.positions, 64),
                                  batch=min(cfg.train.batch, 8),
                                  budgets=tuple(sorted(cfg.budgets)[:2])),
        boundary=dataclasses.replace(cfg.boundary, max_budget=min(cfg.boundary.max_budget, 16),
                                     positions=min(cfg.boundary.positions, 32)))


def ablation_config_path(name_or_path: str) -> Path:
    """A file path, or for a bare name the shipped ``alphazero/configs/ablate_NAME.yaml`` /
    ``alphazero/configs/NAME.yaml``."""
    path = Path(name_or_path)
    if path.is_file() or path.suffix in (".yaml", ".yml"):
        return path
    for candidate in (config_path(f"ablate_{name_or_path}"), config_path(name_or_path)):
        if candidate.is_file():
            return candidate
    return path


def load_ablation_config(name_or_path: str, *, quick: bool = False,
                         overrides: list[str] | None = None) -> AblationConfig:
    """Read an ablation YAML, with ``key.sub=value`` overrides (as ``--set``); unknown keys
    are a ``ConfigError`` naming them."""
    path = ablation_config_path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"ablation config {path} not found")
    cfg = build(AblationConfig, apply_overrides(read_yaml(path) or {}, overrides or []))
    return quick_config(cfg) if quick else cfg


def boundary_checkpoints(cfg: AblationConfig) -> dict[str, str]:
    """The boundary study's checkpoints: its own list, its glob (by step), or the main ones."""
    if cfg.boundary.checkpoints:
        return dict(cfg.boundary.checkpoints)
    if cfg.boundary.checkpoint_glob:
        paths = glob.glob(cfg.boundary.checkpoint_glob)
        if not paths:
            raise ConfigError(f"boundary.checkpoint_glob {cfg.boundary.checkpoint_glob!r} "
                              "matches no file")

        def step(path: str) -> tuple[int, str]:
            numbers = re.findall(r"\d+", Path(path).stem)
            return (int(numbers[-1]) if numbers else -1, path)

        return {Path(p).stem: p for p in sorted(paths, key=step)}
    return dict(cfg.checkpoints)
