"""``alphazero ablate``: search arms compared at equal simulation budgets and equal wall time.

Arms (``ARMS``): the network's policy alone (0 simulations); PUCT with the game config's
constants; PUCT with ``c_init`` tuned per budget and checkpoint on a separate tuning split (the
baseline every other arm is compared with); Gumbel AlphaZero; the learned readout on a PUCT
tree; the learned selection with PUCT's readout; and both learned parts together.

Positions are solver-labelled (``alphazero.labelled``): labelled seed 0 is the evaluation
split, seed 1 the learned search's training split, seed 2 the tuning split; positions of the
evaluation split that also occur in the other two are dropped. For each checkpoint, arm, budget
and seed the study measures the share of optimal moves (keeping the game-theoretic value), of
best-score moves, the value error ``|root value - sign(score)|`` and the time per move, overall
and per stratum of stone counts; paired bootstrap intervals (``alphazero.stats``) for each
arm's difference from tuned PUCT; and the Elo of each arm against tuned PUCT from
solver-balanced openings, each played twice with colours swapped. Deterministic arms (all but
Gumbel with noise) give the same answer for every seed, so they are run once.

The boundary study searches with PUCT at budgets 1, 2, 4, ... up to ``boundary.max_budget``
for a series of training checkpoints: does training let search find answers it could not find
before at any budget, or only find them with fewer simulations?

Outputs in the run directory: ``results.csv`` / ``results.json`` (one row per measurement:
study, arm, checkpoint, budget, seed, stratum, metric, value), ``summary.md``, figures
(PNG, matplotlib's Agg backend) and TensorBoard logs under ``tensorboard/``.
"""

from __future__ import annotations

import dataclasses
import glob
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import yaml

from alphazero.config import ConfigError, build, config_path, load_config
from alphazero.labelled import LabelledPosition, default_cache_dir, labelled_positions
from alphazero.stats import paired_bootstrap
from search import BatchedMCTS, SearchParams
from search.learned import LearnedWeights

ARMS = ("policy", "puct", "puct_tuned", "gumbel", "learned_readout", "learned_selection",
        "learned")
BASELINE = "puct_tuned"
LEARNED_ARMS = ("learned_readout", "learned_selection", "learned")
EVALUATION_SEED, TRAINING_SEED, TUNING_SEED = 0, 1, 2
"""Labelled-position seeds of the three splits (never evaluate on the training split)."""
METRICS = ("optimal_share", "best_share", "value_error")
Log = Callable[[str], None]


# ---------------------------------------------------------------------------- config
@dataclass(frozen=True)
class LearnedTraining:
    """How ablate trains the learned search when no weights file is given."""

    iterations: int = 300
    """Training iterations (``train_learned_search``)."""
    positions: int = 2000
    """Training positions: solver-labelled, labelled seed 1."""
    batch: int = 32
    """Decisions (positions) per iteration."""
    budgets: tuple[int, ...] = (4, 8, 16, 32, 64)
    """Simulation budgets sampled during training."""
    seed: int = 0
    """Seeds the network initialisation and the sampling of decisions."""
    method: str = "deviation"
    """Gradient of the selection (``TrainSearchConfig.method``): deviation or reinforce."""

    def __post_init__(self) -> None:
        if self.method not in ("deviation", "reinforce"):
            raise ValueError(f"train.method must be deviation or reinforce, not {self.method!r}")


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
    """An ablation study (``configs/ablate_*.yaml``)."""

    game: str = "connect4"
    """connect4 or tictactoe (the games with a solver)."""
    base_config: str = ""
    """Game config for the network shape and search constants (default: configs/GAME.yaml)."""
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
    """Evaluation positions (labelled seed 0)."""
    tuning_positions: int = 500
    """Positions of the tuning split (labelled seed 2) for choosing c_init."""
    c_grid: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.75, 2.5, 3.5)
    """Candidate c_init values for tuned PUCT."""
    strata: tuple[int, ...] = ()
    """Lower stone-count bounds of the strata reported separately (e.g. [16, 20, 24])."""
    openings: int = 50
    """Balanced openings for the matches; each is played twice, colours swapped."""
    match_checkpoints: tuple[str, ...] = ()
    """Labels of the checkpoints whose arms play the head-to-head matches (empty: all). The
    matches cost far more than the labelled positions; limiting them keeps a run in hours."""
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
    """Torch threads."""
    train: LearnedTraining = field(default_factory=LearnedTraining)
    boundary: BoundaryStudy = field(default_factory=BoundaryStudy)

    def __post_init__(self) -> None:
        if self.game not in ("connect4", "tictactoe"):
            raise ValueError(f"ablate needs a solver: game must be connect4 or tictactoe, not "
                             f"{self.game!r}")
        _check_checkpoints(self.checkpoints, "checkpoints")
        _check_checkpoints(self.boundary.checkpoints, "boundary.checkpoints")
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown:
            raise ValueError(f"unknown arm {unknown[0]!r} in arms (known: {', '.join(ARMS)})")
        missing = [m for m in self.match_checkpoints if m not in self.checkpoints]
        if missing:
            raise ValueError(f"match_checkpoints: {missing[0]!r} is not a checkpoint label")
        if self.learned_on and self.learned_on not in self.checkpoints:
            raise ValueError(f"learned_on {self.learned_on!r} is not a checkpoint label")
        if not self.budgets or min(self.budgets) < 1 or not self.seeds or not self.c_grid:
            raise ValueError("budgets (>= 1), seeds and c_grid must be non-empty")
        if len(self.opening_plies) != 2 or not 0 <= self.opening_plies[0] <= \
                self.opening_plies[1]:
            raise ValueError("opening_plies must be [fewest, most] with 0 <= fewest <= most")
        for name in ("positions", "tuning_positions", "openings", "batch_size", "resamples",
                     "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.boundary.max_budget < 1 or self.boundary.positions < 1:
            raise ValueError("boundary.max_budget and boundary.positions must be >= 1")

    @property
    def learned_label(self) -> str:
        return self.learned_on or (list(self.checkpoints)[-1] if self.checkpoints else "")

    @property
    def wants_learned(self) -> bool:
        return any(arm in LEARNED_ARMS for arm in self.arms)


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
    """A file path, or ``configs/ablate_NAME.yaml`` / ``configs/NAME.yaml`` for a bare name."""
    path = Path(name_or_path)
    if path.is_file() or path.suffix in (".yaml", ".yml"):
        return path
    for candidate in (config_path(f"ablate_{name_or_path}"), config_path(name_or_path)):
        if candidate.is_file():
            return candidate
    return path


def load_ablation_config(name_or_path: str, *, quick: bool = False) -> AblationConfig:
    """Read an ablation YAML; unknown keys are a ``ConfigError`` naming them."""
    path = ablation_config_path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"ablation config {path} not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    cfg = build(AblationConfig, data)
    return quick_config(cfg) if quick else cfg


# -------------------------------------------------------------------------- networks
def load_network(spec: str, game: Any, network: Any) -> Any:
    """A ``PolicyValueNet`` from a checkpoint path, or 'fresh[:SEED]' for a new network."""
    import torch

    from alphazero.checkpoint import load_model
    from alphazero.network import PolicyValueNet

    if spec == "fresh" or spec.startswith("fresh:"):
        text = spec.split(":", 1)[1] if ":" in spec else "0"
        if not text.isdigit():
            raise ConfigError(f"checkpoint {spec!r}: write fresh or fresh:SEED (SEED an integer)")
        seed = int(text)
        torch.manual_seed(seed)
        return PolicyValueNet(network, game.observation_shape, game.num_actions).eval()
    model, _ = load_model(spec, expected_game=game.name)
    return model


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


# ------------------------------------------------------------------------- positions
@dataclass
class Split:
    """Labelled positions as arrays: what each action is worth, for fast scoring."""

    positions: list[LabelledPosition]
    states: list
    stones: np.ndarray  # int[P], stones on the board
    optimal: np.ndarray  # bool[P, A], the action keeps the game-theoretic value
    best: np.ndarray  # bool[P, A], the action has the best exact score
    value: np.ndarray  # float[P], game-theoretic value for the side to move (-1, 0, 1)

    @classmethod
    def of(cls, positions: Sequence[LabelledPosition], num_actions: int) -> "Split":
        optimal = np.zeros((len(positions), num_actions), dtype=bool)
        best = np.zeros_like(optimal)
        for i, p in enumerate(positions):
            optimal[i, p.optimal_actions()] = True
            best[i, p.best_actions()] = True
        return cls(list(positions), [p.state() for p in positions],
                   np.array([len(p.moves) for p in positions]), optimal, best,
                   np.array([p.value for p in positions], dtype=np.float64))

    def score(self, action: np.ndarray, value: np.ndarray) -> dict[str, np.ndarray]:
        """Per-position metrics (float[P] each) of the chosen actions and root values."""
        rows = np.arange(len(action))
        return {"optimal_share": self.optimal[rows, action].astype(np.float64),
                "best_share": self.best[rows, action].astype(np.float64),
                "value_error": np.abs(np.asarray(value, np.float64) - self.value)}


def state_key(state: Any) -> tuple:
    return tuple(np.asarray(state).ravel().tolist())


def evaluation_positions(game: Any, count: int, exclude: Sequence[LabelledPosition]
                         ) -> list[LabelledPosition]:
    """``count`` positions of labelled seed 0 minus any that occur in ``exclude``."""
    seen = {state_key(p.state()) for p in exclude}
    return [p for p in labelled_positions(game, count, seed=EVALUATION_SEED)
            if state_key(p.state()) not in seen]


def strata_of(stones: np.ndarray, bounds: Sequence[int]) -> dict[str, np.ndarray]:
    """Stratum label ('16-19', '24+', '<16') -> bool mask[P], for the non-empty strata."""
    bounds = sorted(bounds)
    if not bounds:
        return {}
    out = {f"<{bounds[0]}": stones < bounds[0]}
    for lo, hi in zip(bounds, bounds[1:] + [None]):
        label = f"{lo}+" if hi is None else f"{lo}-{hi - 1}"
        out[label] = (stones >= lo) if hi is None else (stones >= lo) & (stones < hi)
    return {k: v for k, v in out.items() if v.any()}


def balanced_openings(game: Any, count: int, plies: Sequence[int], margin: int, *,
                      seed: int = 0, tries_per_opening: int = 200) -> list[list[int]]:
    """``count`` distinct random openings whose exact value is close: |score| <= ``margin``
    (Pons score for Connect Four, -1/0/1 for tic-tac-toe). Connect Four ones are cached."""
    from alphazero.evaluation import random_opening

    cache = None
    if game.name == "connect4":
        cache = default_cache_dir() / (f"connect4_openings_p{plies[0]}-{plies[1]}_m{margin}"
                                       f"_seed{seed}.txt")
        if cache.is_file():
            cached = [[int(c) - 1 for c in line.split()[0]]
                      for line in cache.read_text().split("\n") if line.strip()]
            if len(cached) >= count:
                return cached[:count]
    rng = np.random.default_rng([seed, 7])
    found: dict[tuple[int, ...], int] = {}
    solve = _exact_value_fn(game)
    for _ in range(tries_per_opening * count):
        if len(found) == count:
            break
        moves = tuple(random_opening(game, int(rng.integers(plies[0], plies[1] + 1)), rng))
        if moves in found:
            continue
        state = game.initial_state()
        for action in moves:
            state = game.apply(state, action)
        score = solve(state)
        if abs(score) <= margin:
            found[moves] = score
    if not found:
        raise ValueError(f"no balanced {game.name} opening of {plies[0]}-{plies[1]} plies "
                         f"within margin {margin}")
    if cache is not None and len(found) == count:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text("".join(f"{''.join(str(a + 1) for a in m)} {s}\n"
                                 for m, s in found.items()))
    return [list(m) for m in found]


def _exact_value_fn(game: Any) -> Callable[[Any], int]:
    if game.name == "connect4":
        from games.connect4_solver import Connect4Solver

        solver = Connect4Solver()
        return lambda s: solver.solve((int(s[0]), int(s[1]), int(s[2])))
    from games.tictactoe import perfect_values

    memo: dict = {}
    return lambda s: int(perfect_values(s, memo))


# ------------------------------------------------------------------------------ arms
@dataclass(frozen=True)
class ArmSetup:
    """How one arm searches: its rule and constants, learned weights and root noise."""

    name: str
    params: SearchParams
    learned: LearnedWeights | None = None
    noise: bool = False

    def at(self, budget: int) -> SearchParams:
        return dataclasses.replace(self.params, simulations=budget)


def arm_setup(name: str, base: SearchParams, *, weights: LearnedWeights | None = None,
              c_init: float | None = None, gumbel_noise: bool = True) -> ArmSetup:
    """The setup of arm ``name`` (``ARMS``) on top of the game config's ``base`` params."""
    base = dataclasses.replace(base, arm="puct", reuse_tree=False)
    if name in ("policy", "puct"):
        return ArmSetup(name, base)
    if name == "puct_tuned":
        return ArmSetup(name, dataclasses.replace(base, c_init=float(c_init)))
    if name == "gumbel":
        return ArmSetup(name, dataclasses.replace(base, arm="gumbel"), noise=gumbel_noise)
    if name in LEARNED_ARMS:
        if weights is None:
            raise ValueError(f"arm {name} needs learned search weights")
        parts = LearnedWeights(
            selection=None if name == "learned_readout" else weights.selection,
            readout=None if name == "learned_selection" else weights.readout)
        return ArmSetup(name, dataclasses.replace(base, arm="learned"), learned=parts)
    raise ValueError(f"unknown arm {name!r}")


@dataclass
class ArmRun:
    """One arm's answers on a list of positions."""

    action: np.ndarray  # int[P]
    value: np.ndarray  # float[P], root value for the side to move
    seconds_per_move: float


def search_positions(game: Any, evaluate: Any, setup: ArmSetup, states: Sequence[Any],
                     budget: int, *, seed: int, batch_size: int) -> ArmRun:
    """Search ``states`` ``batch_size`` at a time with ``budget`` simulations each."""
    n = len(states)
    width = min(batch_size, n)
    mcts = BatchedMCTS(game, evaluate, setup.at(budget), batch_size=width, seed=seed,
                       learned=setup.learned)
    action = np.zeros(n, dtype=np.int64)
    value = np.zeros(n, dtype=np.float64)
    seconds = 0.0
    for start in range(0, n, width):
        chunk = list(states[start:start + width])
        mcts.set_roots(chunk)
        started = time.perf_counter()
        result = mcts.run(simulations=budget, add_noise=setup.noise,
                          active=np.arange(width) < len(chunk))
        seconds += time.perf_counter() - started
        action[start:start + len(chunk)] = result.action[:len(chunk)]
        value[start:start + len(chunk)] = result.value[:len(chunk)]
    return ArmRun(action, value, seconds / n)


class ArmAgent:
    """An arm as a match player (``alphazero.agents.Agent``): fresh trees each move."""

    def __init__(self, game: Any, evaluate: Any, setup: ArmSetup, budget: int, *,
                 seed: int = 0, name: str | None = None) -> None:
        self.game, self.evaluate, self.setup, self.budget = game, evaluate, setup, budget
        self.name = name or f"{setup.name}@{budget}"
        self._seed = seed
        self._mcts: BatchedMCTS | None = None

    def reset(self) -> None:
        self._mcts = None

    def select_moves(self, states: list) -> list[int]:
        if not states:
            return []
        if self._mcts is None or self._mcts.batch_size < len(states):
            self._mcts = BatchedMCTS(self.game, self.evaluate, self.setup.at(self.budget),
                                     batch_size=len(states), seed=self._seed,
                                     learned=self.setup.learned)
        self._mcts.set_roots(states)
        active = np.arange(self._mcts.batch_size) < len(states)
        result = self._mcts.run(simulations=self.budget, add_noise=self.setup.noise,
                                active=active)
        return [int(a) for a in result.action[:len(states)]]


def tune_c_init(game: Any, evaluate: Any, base: SearchParams, split: Split, budget: int,
                grid: Sequence[float], *, batch_size: int) -> tuple[float, dict[float, float]]:
    """The c_init of ``grid`` with the highest optimal share on ``split`` at ``budget`` (ties:
    the one closest to the config's c_init, in ratio), and every candidate's share."""
    shares = {}
    for c in grid:
        setup = arm_setup("puct_tuned", base, c_init=c)
        run = search_positions(game, evaluate, setup, split.states, budget, seed=0,
                               batch_size=batch_size)
        shares[float(c)] = float(split.score(run.action, run.value)["optimal_share"].mean())
    top = max(shares.values())
    best = min((c for c, s in shares.items() if s == top),
               key=lambda c: abs(np.log(c / base.c_init)))
    return best, shares


# --------------------------------------------------------------------------- results
class Results:
    """Rows ``(study, arm, checkpoint, budget, seed, stratum, metric, value)``, mirrored to
    TensorBoard as ``study/metric/checkpoint/arm`` by budget (all positions; by default only
    the pooled seeds, ``seed == "all"``)."""

    COLUMNS = ("study", "arm", "checkpoint", "budget", "seed", "stratum", "metric", "value")

    def __init__(self, writer: Any = None) -> None:
        self.rows: list[dict[str, Any]] = []
        self.writer = writer

    def add(self, study: str, arm: str, checkpoint: str, budget: int, seed: Any, metric: str,
            value: float, stratum: str = "all", *, tensorboard: bool | None = None) -> None:
        self.rows.append(dict(zip(self.COLUMNS, (study, arm, checkpoint, int(budget), seed,
                                                 stratum, metric, float(value)))))
        if tensorboard is None:
            tensorboard = seed == "all"
        if self.writer is not None and tensorboard and stratum == "all" and \
                np.isfinite(value):
            self.writer.add_scalar(f"{study}/{metric}/{checkpoint}/{arm}", value, int(budget))

    def add_scores(self, study: str, arm: str, checkpoint: str, budget: int, seed: Any,
                   scores: dict[str, np.ndarray], strata: dict[str, np.ndarray], *,
                   tensorboard: bool | None = None) -> None:
        for metric, values in scores.items():
            self.add(study, arm, checkpoint, budget, seed, metric, values.mean(),
                     tensorboard=tensorboard)
            for label, mask in strata.items():
                self.add(study, arm, checkpoint, budget, seed, metric, values[mask].mean(),
                         label)


def match_rows(results: Results, arm: str, checkpoint: str, budget: int, seed: Any,
               wins: int, draws: int, losses: int, confidence: float) -> None:
    """Elo (finite: a bound when the score is 0% or 100%), its interval and W/D/L."""
    from alphazero.elo import elo_difference

    est = elo_difference(wins, draws, losses, confidence=confidence)
    for metric, value in (("elo", est.conservative), ("elo_low", est.low),
                          ("elo_high", est.high), ("score", est.score), ("wins", wins),
                          ("draws", draws), ("losses", losses), ("games", est.games)):
        results.add("arms", arm, checkpoint, budget, seed, metric, value)


# ------------------------------------------------------------------------ arms study
@dataclass
class _Study:
    """What every part of a study needs."""

    cfg: AblationConfig
    game: Any
    search: SearchParams  # the game config's search constants
    results: Results
    log: Log


def _setup(cfg: AblationConfig, out_dir: Path, checkpoints: dict[str, str], log: Log):
    """Game, game config, and one ``evaluate`` per checkpoint (all loaded before any work)."""
    from torch.utils.tensorboard import SummaryWriter

    from alphazero.network import make_evaluate_fn
    from games import get_game

    if not checkpoints:
        raise ConfigError("the ablation config lists no checkpoints")
    game = get_game(cfg.game)
    base = load_config(cfg.base_config or cfg.game)
    if base.game != cfg.game:
        raise ConfigError(f"base_config {cfg.base_config} is for {base.game}, not {cfg.game}")
    nets = {label: load_network(path, game, base.network) for label, path in checkpoints.items()}
    evaluates = {label: make_evaluate_fn(net, num_threads=cfg.threads)
                 for label, net in nets.items()}
    writer = SummaryWriter(str(out_dir / "tensorboard"))
    return _Study(cfg, game, base.search, Results(writer), log), evaluates


def prepare_learned(study: _Study, evaluate: Any, out_dir: Path
                    ) -> tuple[LearnedWeights | None, list[LabelledPosition]]:
    """The learned search's weights (loaded, or trained on labelled seed 1 with ``evaluate``)
    and its training positions (kept out of the evaluation split)."""
    from alphazero.learned_search import (
        LearnedSearch, TrainSearchConfig, solver_costs, train_learned_search,
    )

    cfg, game = study.cfg, study.game
    if not cfg.wants_learned:
        return None, []
    training = labelled_positions(game, cfg.train.positions, seed=TRAINING_SEED)
    if cfg.learned_weights:
        study.log(f"learned search: {cfg.learned_weights}")
        return LearnedSearch.load(cfg.learned_weights).weights(), training
    t = cfg.train
    study.log(f"training the learned search on {cfg.learned_label} ({t.method}): "
              f"{t.iterations} iterations, {len(training)} positions, budgets {list(t.budgets)}")
    costs = np.stack([solver_costs(p.scores, game.num_actions) for p in training])
    train_cfg = TrainSearchConfig(method=t.method, budgets=t.budgets,
                                  positions_per_batch=t.batch, iterations=t.iterations,
                                  seed=t.seed)
    writer = study.results.writer

    def log(it: int, stats: dict) -> None:
        for key, value in stats.items():
            if writer is not None and np.isfinite(value):
                writer.add_scalar(f"train_search/{key}", value, it)

    learned = train_learned_search(game, evaluate, study.search, [p.state() for p in training],
                                   costs, train_cfg, log=log)
    learned.meta.update({"game": game.name, "network": cfg.checkpoints[cfg.learned_label],
                         "budgets": list(t.budgets), "teacher": "solver",
                         "method": t.method, "iterations": t.iterations})
    learned.save(out_dir / "learned_search.pt")
    return learned.weights(), training


def run_arms_study(cfg: AblationConfig, out_dir: Path, *, log: Log = print) -> Results:
    """Every arm x checkpoint x budget (x seed) on the evaluation split, and the matches."""
    study, evaluates = _setup(cfg, out_dir, cfg.checkpoints, log)
    game, results = study.game, study.results
    tuning = Split.of(labelled_positions(game, cfg.tuning_positions, seed=TUNING_SEED),
                      game.num_actions)
    weights, training = prepare_learned(study, evaluates[cfg.learned_label], out_dir)
    kept = evaluation_positions(game, cfg.positions, tuning.positions + training)
    evaluation = Split.of(kept, game.num_actions)
    openings = balanced_openings(game, cfg.openings, cfg.opening_plies, cfg.opening_margin)
    (out_dir / "openings.txt").write_text("".join(  # the games' notation: digits 1-9
        "".join(str(a + 1) for a in moves) + "\n" for moves in openings))
    for metric, value in (("evaluation_positions", len(kept)),
                          ("evaluation_dropped", cfg.positions - len(kept)),
                          ("tuning_positions", len(tuning.positions)),
                          ("training_positions", len(training)), ("openings", len(openings))):
        results.add("data", "-", "-", 0, "all", metric, value)
    log(f"{len(kept)} evaluation positions ({cfg.positions - len(kept)} dropped: also in the "
        f"training or tuning split), {len(openings)} balanced openings")
    for label, evaluate in evaluates.items():
        tuned = _tune(study, label, evaluate, tuning)
        scores = _score_arms(study, label, evaluate, evaluation, tuned, weights)
        _differences(study, label, scores, strata_of(evaluation.stones, cfg.strata),
                     len(kept))
        if not cfg.match_checkpoints or label in cfg.match_checkpoints:
            _matches(study, label, evaluate, tuned, weights, openings)
        write_results(results.rows, out_dir)  # a stopped run keeps every finished checkpoint
    results.writer.close()
    return results


def _arms(cfg: AblationConfig) -> list[str]:
    return [BASELINE] + [a for a in cfg.arms if a != BASELINE]


def _tune(study: _Study, label: str, evaluate: Any, tuning: Split) -> dict[int, float]:
    tuned = {}
    for budget in study.cfg.budgets:
        c, shares = tune_c_init(study.game, evaluate, study.search, tuning, budget,
                                study.cfg.c_grid, batch_size=study.cfg.batch_size)
        tuned[budget] = c
        for cand, share in shares.items():
            study.results.add("tuning", f"puct(c={cand:g})", label, budget, 0, "optimal_share",
                              share)
        study.results.add("arms", BASELINE, label, budget, "all", "c_init", c)
        study.log(f"[{label}] {budget} sims: tuned c_init {c:g} (tuning optimal share "
                  f"{shares[c]:.3f})")
    return tuned


def _score_arms(study: _Study, label: str, evaluate: Any, split: Split,
                tuned: dict[int, float], weights: LearnedWeights | None
                ) -> dict[tuple[str, int], dict[str, np.ndarray]]:
    """Search the evaluation split with every arm; per-position scores pooled over seeds."""
    cfg, results = study.cfg, study.results
    strata = strata_of(split.stones, cfg.strata)
    scores = {}
    for arm in _arms(cfg):
        for budget in ([0] if arm == "policy" else cfg.budgets):
            setup = arm_setup(arm, study.search, weights=weights, c_init=tuned.get(budget),
                              gumbel_noise=cfg.gumbel_noise)
            per_seed, seconds = [], []
            for seed in (cfg.seeds if setup.noise else cfg.seeds[:1]):
                run = search_positions(study.game, evaluate, setup, split.states, budget,
                                       seed=seed, batch_size=cfg.batch_size)
                per_seed.append(split.score(run.action, run.value))
                seconds.append(run.seconds_per_move)
                results.add_scores("arms", arm, label, budget, seed, per_seed[-1], strata)
                results.add("arms", arm, label, budget, seed, "seconds_per_move", seconds[-1])
            pooled = {m: np.mean([s[m] for s in per_seed], axis=0) for m in METRICS}
            results.add_scores("arms", arm, label, budget, "all", pooled, strata)
            results.add("arms", arm, label, budget, "all", "seconds_per_move", np.mean(seconds))
            scores[(arm, budget)] = pooled
            study.log(f"[{label}] {arm} {budget} sims: optimal {pooled['optimal_share'].mean():.3f}"
                      f", best {pooled['best_share'].mean():.3f}, value error "
                      f"{pooled['value_error'].mean():.3f}, {1000 * np.mean(seconds):.2f} ms/move")
    return scores


def _differences(study: _Study, label: str, scores: dict, strata: dict[str, np.ndarray],
                 count: int) -> None:
    """Paired bootstrap intervals of every arm minus tuned PUCT, overall and per stratum."""
    cfg = study.cfg
    groups = {"all": np.ones(count, dtype=bool), **strata}
    for arm in _arms(cfg)[1:]:
        for budget in cfg.budgets:
            mine, base = scores[(arm, 0 if arm == "policy" else budget)], scores[(BASELINE, budget)]
            for metric in METRICS:
                for stratum, mask in groups.items():
                    iv = paired_bootstrap(mine[metric][mask], base[metric][mask],
                                          resamples=cfg.resamples, confidence=cfg.confidence)
                    for suffix, value in (("", iv.estimate), ("_low", iv.low),
                                          ("_high", iv.high)):
                        study.results.add("arms", arm, label, budget, "all",
                                          f"{metric}_diff{suffix}", value, stratum)


def _matches(study: _Study, label: str, evaluate: Any, tuned: dict[int, float],
             weights: LearnedWeights | None, openings: list[list[int]]) -> None:
    """Each arm (and seed) against tuned PUCT at every budget, every opening with both
    colours; all of a budget's matches at once, so tuned PUCT searches them in one batch."""
    from alphazero.evaluation import play_matches

    cfg, game = study.cfg, study.game
    for budget in cfg.budgets:
        baseline = ArmAgent(game, evaluate, arm_setup(BASELINE, study.search,
                                                      c_init=tuned[budget]), budget)
        pairings, keys = [], []
        for arm in _arms(cfg)[1:]:
            setup = arm_setup(arm, study.search, weights=weights, c_init=tuned[budget],
                              gumbel_noise=cfg.gumbel_noise)
            for seed in (cfg.seeds if setup.noise else cfg.seeds[:1]):
                pairings.append((ArmAgent(game, evaluate, setup,
                                          0 if arm == "policy" else budget, seed=seed),
                                 baseline))
                keys.append((arm, seed))
        matches = play_matches(game, pairings, games=2 * len(openings), openings=openings)
        totals: dict[str, np.ndarray] = {}
        for (arm, seed), result in zip(keys, matches):
            wdl = np.array([result.wins, result.draws, result.losses])
            totals[arm] = totals.get(arm, 0) + wdl
            match_rows(study.results, arm, label, budget, seed, *wdl.tolist(), cfg.confidence)
        for arm, wdl in totals.items():
            match_rows(study.results, arm, label, budget, "all", *wdl.tolist(), cfg.confidence)
            study.log(f"[{label}] {arm} vs {BASELINE} at {budget} sims: W/D/L "
                      f"{'/'.join(map(str, wdl))}")


# -------------------------------------------------------------------- boundary study
def boundary_budgets(max_budget: int) -> list[int]:
    """1, 2, 4, ... up to the first power of 2 >= ``max_budget``."""
    budgets = [1]
    while budgets[-1] < max_budget:
        budgets.append(2 * budgets[-1])
    return budgets


def incremental_puct(game: Any, evaluate: Any, params: SearchParams, states: Sequence[Any],
                     budgets: Sequence[int], *, batch_size: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PUCT read out at each of the increasing ``budgets`` by continuing one tree per position.

    PUCT's choices depend only on the tree, not on the budget, so a tree grown to b1 and then
    on to b2 is the tree of a search with b2: the whole curve costs one search of the largest
    budget. Returns actions and root values, int/float[len(budgets), P], and the cumulative
    seconds per move at each budget.
    """
    params = dataclasses.replace(params, arm="puct", simulations=max(budgets), reuse_tree=False)
    n = len(states)
    width = min(batch_size, n)
    mcts = BatchedMCTS(game, evaluate, params, batch_size=width, seed=0)
    action = np.zeros((len(budgets), n), dtype=np.int64)
    value = np.zeros((len(budgets), n))
    seconds = np.zeros(len(budgets))
    for start in range(0, n, width):
        chunk = list(states[start:start + width])
        mcts.set_roots(chunk)
        active = np.arange(width) < len(chunk)
        done = 0
        for j, budget in enumerate(budgets):
            started = time.perf_counter()
            result = mcts.run(simulations=budget - done, active=active)
            seconds[j] += time.perf_counter() - started
            done = budget
            action[j, start:start + len(chunk)] = result.action[:len(chunk)]
            value[j, start:start + len(chunk)] = result.value[:len(chunk)]
    return action, value, np.cumsum(seconds) / n


def run_boundary_study(cfg: AblationConfig, out_dir: Path, *, log: Log = print) -> Results:
    """PUCT's accuracy from 1 to ``boundary.max_budget`` simulations for each checkpoint."""
    study, evaluates = _setup(cfg, out_dir, boundary_checkpoints(cfg), log)
    game, results = study.game, study.results
    split = Split.of(labelled_positions(game, cfg.boundary.positions, seed=EVALUATION_SEED),
                     game.num_actions)
    strata = strata_of(split.stones, cfg.strata)
    budgets = boundary_budgets(cfg.boundary.max_budget)
    results.add("data", "-", "-", 0, "all", "evaluation_positions", len(split.positions))
    solved: dict[str, np.ndarray] = {}  # label -> bool[len(budgets), P]
    for label, evaluate in evaluates.items():
        action, value, seconds = incremental_puct(game, evaluate, study.search, split.states,
                                                  budgets, batch_size=cfg.batch_size)
        for j, budget in enumerate(budgets):
            scores = split.score(action[j], value[j])
            results.add_scores("boundary", "puct", label, budget, 0, scores, strata,
                               tensorboard=True)
            results.add("boundary", "puct", label, budget, 0, "seconds_per_move", seconds[j],
                        tensorboard=True)
        solved[label] = split.optimal[np.arange(len(split.positions))[None, :], action]
        log(f"[{label}] PUCT optimal share by budget: " + ", ".join(
            f"{b}: {s:.3f}" for b, s in zip(budgets, solved[label].mean(axis=1))))
        write_results(results.rows, out_dir)
    first = next(iter(solved))
    first_ever, first_top = solved[first].any(axis=0), solved[first][-1].mean()
    for label, grid in solved.items():
        reach = np.flatnonzero(grid.mean(axis=1) >= first_top)
        for metric, value in (
                ("ever_optimal", grid.any(axis=0).mean()),
                ("new_vs_first", (grid[-1] & ~first_ever).mean()),
                ("lost_vs_first", (~grid.any(axis=0) & first_ever).mean()),
                ("budget_to_match_first", budgets[reach[0]] if reach.size else np.nan)):
            results.add("boundary", "puct", label, budgets[-1], 0, metric, value)
    results.writer.close()
    return results


# --------------------------------------------------------------------------- outputs
def write_results(rows: list[dict[str, Any]], out_dir: Path) -> None:
    """``results.csv`` and ``results.json`` (non-finite values as empty / null), each written
    atomically: the studies call this after every checkpoint, so a stopped run keeps what it
    finished."""
    import csv
    import io
    import json

    from alphazero.checkpoint import atomic_write

    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=Results.COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "value": row["value"] if np.isfinite(row["value"]) else
                         ("inf" if row["value"] > 0 else "-inf" if row["value"] < 0 else "")})
    clean = [{**row, "value": row["value"] if np.isfinite(row["value"]) else None}
             for row in rows]
    data = (json.dumps(clean, indent=1, allow_nan=False) + "\n").encode()
    atomic_write(out_dir / "results.csv", lambda f: f.write(text.getvalue().encode()))
    atomic_write(out_dir / "results.json", lambda f: f.write(data))


def run_ablation(cfg: AblationConfig, out_dir: Path, *, study: str = "arms",
                 log: Log = print) -> list[Path]:
    """Run the ``arms`` or ``boundary`` study into ``out_dir``; returns the files written."""
    if study not in ("arms", "boundary"):
        raise ValueError(f"study must be arms or boundary, not {study!r}")
    from alphazero.checkpoint import CheckpointError

    checkpoints = cfg.checkpoints if study == "arms" else boundary_checkpoints(cfg)
    for spec in checkpoints.values():  # fail before any work or any file
        if not (spec == "fresh" or spec.startswith("fresh:") or Path(spec).is_file()):
            raise CheckpointError(f"checkpoint not found: {spec}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ablation.yaml").write_text(yaml.safe_dump(dataclasses.asdict(cfg),
                                                          sort_keys=False))
    runner = run_arms_study if study == "arms" else run_boundary_study
    rows = runner(cfg, out_dir, log=log).rows
    write_results(rows, out_dir)
    return [out_dir / "results.csv", out_dir / "results.json",
            *write_reports(rows, cfg, out_dir, study)]


# --------------------------------------------------------------------------- reports
Index = dict[tuple, float]


def _index(rows: list[dict[str, Any]]) -> Index:
    return {(r["study"], r["arm"], r["checkpoint"], r["budget"], r["seed"], r["stratum"],
             r["metric"]): r["value"] for r in rows}


def _get(idx: Index, arm: str, checkpoint: str, budget: int, metric: str, *,
         study: str = "arms", seed: Any = "all", stratum: str = "all") -> float:
    return idx.get((study, arm, checkpoint, budget, seed, stratum, metric), np.nan)


def _labels(rows: list[dict[str, Any]], key: str, study: str) -> list:
    return list(dict.fromkeys(r[key] for r in rows if r["study"] == study))


def matching_budget(budgets: Sequence[int], shares: Sequence[float], target: float
                    ) -> float | None:
    """Budget (interpolated in log2) at which ``shares`` first reach ``target``; None if
    never; the smallest budget if already there."""
    if target <= shares[0]:
        return float(budgets[0])
    for (b0, s0), (b1, s1) in zip(zip(budgets, shares), zip(budgets[1:], shares[1:])):
        if s0 < target <= s1:
            t = (target - s0) / (s1 - s0)
            return float(2 ** (np.log2(b0) + t * (np.log2(b1) - np.log2(b0))))
    return None


def _share_cell(idx: Index, arm: str, ckpt: str, budget: int, metric: str, stratum: str,
                scale: float = 100.0) -> str:
    value = _get(idx, arm, ckpt, 0 if arm == "policy" else budget, metric, stratum=stratum)
    text = f"{scale * value:.1f}" if scale != 1.0 else f"{value:.3f}"
    if arm == BASELINE:
        return f"{text} (c={_get(idx, arm, ckpt, budget, 'c_init'):g})" if metric == \
            "optimal_share" and stratum == "all" else text
    d, lo, hi = (_get(idx, arm, ckpt, budget, f"{metric}_diff{s}", stratum=stratum)
                 for s in ("", "_low", "_high"))
    digits = 1 if scale != 1.0 else 3
    star = "*" if lo > 0 or hi < 0 else ""
    return (f"{text} ({scale * d:+.{digits}f} [{scale * lo:+.{digits}f}, "
            f"{scale * hi:+.{digits}f}]{star})")


def _elo_text(value: float) -> str:
    return f"{value:+.0f}" if np.isfinite(value) else ("+inf" if value > 0 else "-inf")


def _elo_cell(idx: Index, arm: str, ckpt: str, budget: int) -> str:
    elo, lo, hi = (_get(idx, arm, ckpt, budget, m) for m in ("elo", "elo_low", "elo_high"))
    wdl = "/".join(f"{_get(idx, arm, ckpt, budget, m):.0f}" for m in ("wins", "draws", "losses"))
    return f"{_elo_text(elo)} [{_elo_text(lo)}, {_elo_text(hi)}] ({wdl})"


def _table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(line) + " |" for line in lines), ""]


def arms_summary(rows: list[dict[str, Any]], cfg: AblationConfig) -> str:
    """The Markdown summary of an arms study."""
    idx = _index(rows)
    arms = [a for a in _arms(cfg) if a in _labels(rows, "arm", "arms")]
    ckpts = [c for c in _labels(rows, "checkpoint", "arms")]
    budgets = list(cfg.budgets)
    data = {m: _get(idx, "-", "-", 0, m, study="data") for m in (
        "evaluation_positions", "evaluation_dropped", "tuning_positions", "training_positions",
        "openings")}
    pct = f"{100 * cfg.confidence:g}%"
    out = [f"# Ablation of the search arms: {cfg.game}", "",
           f"{data['evaluation_positions']:.0f} evaluation positions (labelled seed 0; "
           f"{data['evaluation_dropped']:.0f} dropped as they also occur in the training or "
           f"tuning split), c_init tuned per budget on {data['tuning_positions']:.0f} positions "
           f"(seed 2) over {list(cfg.c_grid)}; learned search "
           f"{'from ' + cfg.learned_weights if cfg.learned_weights else 'trained here'} on "
           f"checkpoint `{cfg.learned_label}` ({data['training_positions']:.0f} positions, "
           f"seed 1). Seeds {list(cfg.seeds)} (deterministic arms run once); matches from "
           f"{data['openings']:.0f} balanced openings, each played with both colours. Cells: "
           f"value (difference from tuned PUCT, paired bootstrap {pct} interval, "
           f"{cfg.resamples} resamples; * = excludes 0). Policy: 0 simulations.", ""]
    for ckpt in ckpts:
        tag = " (learned search trained on it)" if ckpt == cfg.learned_label else ""
        out += [f"## Checkpoint `{ckpt}`{tag}", ""]
        for metric, title, scale in (("optimal_share", "Optimal moves, %", 100.0),
                                     ("best_share", "Best-score moves, %", 100.0),
                                     ("value_error", "Value error |v - sign(score)|", 1.0)):
            out += [f"{title}:", ""] + _table(["arm", *map(str, budgets)], [
                [a, *(_share_cell(idx, a, ckpt, b, metric, "all", scale) for b in budgets)]
                for a in arms])
        out += [f"Elo against tuned PUCT at the same budget ({pct} interval; W/D/L):", ""]
        out += _table(["arm", *map(str, budgets)], [
            [a, *(_elo_cell(idx, a, ckpt, b) for b in budgets)] for a in arms if a != BASELINE])
        out += ["Time per move, ms (batched search):", ""] + _table(["arm", *map(str, budgets)], [
            [a, *(f"{1000 * _get(idx, a, ckpt, 0 if a == 'policy' else b, 'seconds_per_move'):.2f}"
                  for b in budgets)] for a in arms])
        strata = [s for s in _labels(rows, "stratum", "arms") if s != "all"]
        if strata:
            out += ["Optimal moves by stones on the board, %:", ""] + _table(
                ["arm", "stones", *map(str, budgets)],
                [[a, s, *(_share_cell(idx, a, ckpt, b, "optimal_share", s) for b in budgets)]
                 for a in arms for s in strata])
    out += equal_time_section(idx, cfg, arms) + target_section(idx, cfg)
    return "\n".join(out)


def equal_time_section(idx: Index, cfg: AblationConfig, arms: Sequence[str]) -> list[str]:
    """Each arm's optimal share against tuned PUCT's at the same time per move (log-time
    interpolation between tuned PUCT's budgets; blank outside its measured times)."""
    ckpt, budgets = cfg.learned_label, list(cfg.budgets)
    times = np.array([_get(idx, BASELINE, ckpt, b, "seconds_per_move") for b in budgets])
    shares = np.array([_get(idx, BASELINE, ckpt, b, "optimal_share") for b in budgets])
    order = np.argsort(times)
    lines = []
    for arm in arms:
        if arm == BASELINE:
            continue
        for b in ([0] if arm == "policy" else budgets):
            t = _get(idx, arm, ckpt, b, "seconds_per_move")
            mine = _get(idx, arm, ckpt, b, "optimal_share")
            inside = times.min() <= t <= times.max()
            base = np.interp(np.log(t), np.log(times[order]), shares[order]) if inside else np.nan
            lines.append([arm, str(b), f"{1000 * t:.2f}", f"{100 * mine:.1f}",
                          f"{100 * base:.1f}" if inside else "", f"{100 * (mine - base):+.1f}"
                          if inside else ""])
    return [f"## Equal wall time (checkpoint `{ckpt}`)", "",
            "Tuned PUCT's optimal share interpolated (in log time) at each arm's time per move; "
            "blank when outside the times tuned PUCT was measured at. Times on a shared, "
            "loaded machine are noisy.", ""] + _table(
        ["arm", "budget", "ms/move", "optimal %", "tuned PUCT % at that time", "difference"],
        lines)


def target_section(idx: Index, cfg: AblationConfig) -> list[str]:
    """The pre-registered targets (docs/learned_search.md), checked on ``learned_on``."""
    ckpt, arm = cfg.learned_label, "learned"
    out = [f"## Pre-registered targets (docs/learned_search.md; arm `{arm}`, checkpoint "
           f"`{ckpt}`)", "", "Defined for Connect Four; on other games a reference only.", ""]
    if arm not in cfg.arms:
        return out + ["Not checked: the learned arm was not run.", ""]

    def diff(b: int) -> tuple[float, float, float]:
        return tuple(_get(idx, arm, ckpt, b, f"optimal_share_diff{s}")  # type: ignore
                     for s in ("", "_low", "_high"))

    for b in (16, 32):
        if b not in cfg.budgets:
            out.append(f"- {b} simulations: not measured.")
            continue
        d, lo, hi = diff(b)
        elo = _get(idx, arm, ckpt, b, "elo")
        met = d >= 0.02 and lo > 0 and elo >= 30
        out.append(f"- {b} simulations: optimal moves {100 * d:+.1f} points [{100 * lo:+.1f}, "
                   f"{100 * hi:+.1f}] (target >= +2 with the interval above 0), Elo "
                   f"{_elo_text(elo)} (target >= +30): {'MET' if met else 'NOT MET'}.")
    for b in (64, 128):
        if b not in cfg.budgets:
            out.append(f"- {b} simulations: not measured.")
            continue
        d, lo, hi = diff(b)
        elo_high = _get(idx, arm, ckpt, b, "elo_high")
        met = hi >= 0 and elo_high >= 0
        out.append(f"- {b} simulations: optimal moves {100 * d:+.1f} [{100 * lo:+.1f}, "
                   f"{100 * hi:+.1f}], Elo {_elo_text(_get(idx, arm, ckpt, b, 'elo'))} "
                   f"(upper {_elo_text(elo_high)}); no significant loss: "
                   f"{'MET' if met else 'NOT MET'}.")
    if 16 in cfg.budgets:
        budgets = sorted(cfg.budgets)
        shares = [_get(idx, BASELINE, ckpt, b, "optimal_share") for b in budgets]
        target = _get(idx, arm, ckpt, 16, "optimal_share")
        match = matching_budget(budgets, shares, target)
        text = (f"about {match:.0f} simulations ({match / 16:.2f}x; >= 1.5x is meaningful)"
                if match is not None else f"more than {budgets[-1]} (not reached)")
        out.append(f"- Tuned PUCT budget matching `{arm}` at 16 simulations "
                   f"({100 * target:.1f}% optimal): {text}.")
    return out + [""]


def boundary_summary(rows: list[dict[str, Any]], cfg: AblationConfig) -> str:
    """The boundary study's table and the facts a paragraph needs."""
    idx = _index(rows)
    ckpts = _labels(rows, "checkpoint", "boundary")
    budgets = sorted({r["budget"] for r in rows if r["study"] == "boundary"})
    top = budgets[-1]

    def get(c: str, b: int, m: str) -> float:
        return _get(idx, "puct", c, b, m, study="boundary", seed=0)

    first = ckpts[0]
    lines = []
    for c in ckpts:
        match = get(c, top, "budget_to_match_first")
        lines.append([c, *(f"{100 * get(c, b, 'optimal_share'):.1f}" for b in budgets),
                      f"{100 * get(c, top, 'ever_optimal'):.1f}",
                      f"{100 * get(c, top, 'new_vs_first'):.1f}",
                      f"{match:.0f}" if np.isfinite(match) else f"> {top}"])
    n = _get(idx, "-", "-", 0, "evaluation_positions", study="data")
    out = [f"# Boundary study: PUCT accuracy against the budget ({cfg.game})", "",
           f"Share of optimal moves (%) on {n:.0f} solver-labelled positions (labelled seed 0) "
           f"by PUCT at each budget, per training checkpoint. *Any budget*: optimal at some "
           f"budget of the series. *New vs `{first}`*: optimal at {top} simulations where "
           f"`{first}` found no optimal move at any budget. *Sims to match*: fewest simulations "
           f"reaching `{first}`'s share at {top}.", ""]
    out += _table(["checkpoint", *map(str, budgets), "any budget", f"new vs {first}",
                   "sims to match"], lines)
    for c in ckpts[1:]:
        out.append(f"- `{c}`: {100 * get(c, top, 'optimal_share'):.1f}% at {top} simulations "
                   f"against {100 * get(first, top, 'optimal_share'):.1f}% for `{first}`; "
                   f"{100 * get(c, top, 'new_vs_first'):.1f}% of positions are answers `{first}` "
                   f"never found at any budget, {100 * get(c, top, 'lost_vs_first'):.1f}% the "
                   f"reverse.")
    return "\n".join(out + [""])


def write_reports(rows: list[dict[str, Any]], cfg: AblationConfig, out_dir: Path,
                  study: str) -> list[Path]:
    """summary.md and the figures; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    if study == "arms":
        text = arms_summary(rows, cfg)
        figures = {"accuracy_vs_budget.png": _accuracy_figure, "elo_vs_budget.png": _elo_figure,
                   "time_per_move.png": _time_figure}
    else:
        text = boundary_summary(rows, cfg)
        (out_dir / "boundary.md").write_text(text)
        paths.append(out_dir / "boundary.md")
        figures = {"boundary.png": _boundary_figure}
    (out_dir / "summary.md").write_text(text)
    paths.append(out_dir / "summary.md")
    for name, draw in figures.items():
        fig = draw(plt, rows, cfg)
        fig.savefig(out_dir / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths.append(out_dir / name)
    return paths


_STYLE = {  # one colour per arm in every figure; markers and dashes keep overlaps visible
    "policy": dict(marker="o", color="grey"),
    "puct": dict(marker="s", ls=":", color="tab:orange"),
    "puct_tuned": dict(marker="o", lw=2.4, color="black"),
    "gumbel": dict(marker="^", color="tab:green"),
    "learned_readout": dict(marker="v", ls="--", color="tab:red"),
    "learned_selection": dict(marker="D", ls="-.", color="tab:purple"),
    "learned": dict(marker="o", lw=1.8, color="tab:brown")}


def _accuracy_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    idx, ckpts = _index(rows), _labels(rows, "checkpoint", "arms")
    fig, axes = plt.subplots(len(METRICS), len(ckpts), figsize=(4.2 * len(ckpts), 9),
                             squeeze=False)
    for col, ckpt in enumerate(ckpts):
        for row, metric in enumerate(METRICS):
            ax = axes[row, col]
            for arm in _arms(cfg):
                if arm == "policy":
                    ax.axhline(_get(idx, arm, ckpt, 0, metric), color="grey", ls="--",
                               label="policy")
                    continue
                ax.plot(cfg.budgets, [_get(idx, arm, ckpt, b, metric) for b in cfg.budgets],
                        label=arm, **_STYLE.get(arm, {}))
            ax.set_xscale("log", base=2)
            ax.set(ylabel=metric.replace("_", " "))
            ax.grid(alpha=0.3)
        axes[0, col].set_title(ckpt)
        axes[-1, col].set_xlabel("simulations")
    axes[0, -1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _elo_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    idx, ckpts = _index(rows), _labels(rows, "checkpoint", "arms")
    fig, axes = plt.subplots(1, len(ckpts), figsize=(4.5 * len(ckpts), 3.8), squeeze=False)
    for col, ckpt in enumerate(ckpts):
        ax = axes[0, col]
        ax.axhline(0.0, color="black", lw=1, label=f"{BASELINE} (reference)")
        for k, arm in enumerate(_arms(cfg)[1:]):
            elo = np.array([_get(idx, arm, ckpt, b, "elo") for b in cfg.budgets])
            low = np.array([_get(idx, arm, ckpt, b, "elo_low") for b in cfg.budgets])
            high = np.array([_get(idx, arm, ckpt, b, "elo_high") for b in cfg.budgets])
            low, high = np.where(np.isfinite(low), low, elo), np.where(np.isfinite(high), high, elo)
            x = np.array(cfg.budgets, dtype=float) * 2 ** (0.04 * (k - 3))  # spread the bars
            style = {k: v for k, v in _STYLE.get(arm, {}).items() if k != "lw"}
            ax.errorbar(x, elo, yerr=[elo - low, high - elo], capsize=2, label=arm, **style)
        ax.set_xscale("log", base=2)
        ax.set(xlabel="simulations", ylabel=f"Elo vs {BASELINE}", title=ckpt)
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _time_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    idx, ckpt = _index(rows), cfg.learned_label
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for arm in _arms(cfg):
        budgets = [0] if arm == "policy" else list(cfg.budgets)
        ms = [1000 * _get(idx, arm, ckpt, b, "seconds_per_move") for b in budgets]
        share = [_get(idx, arm, ckpt, b, "optimal_share") for b in budgets]
        style = _STYLE.get(arm, {})
        if arm != "policy":
            left.plot(budgets, ms, label=arm, **style)
        right.plot(ms, share, label=arm, **style)
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set(xlabel="simulations", ylabel="ms per move", title=f"time per move ({ckpt})")
    right.set_xscale("log")
    right.set(xlabel="ms per move", ylabel="optimal share", title="equal wall time")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _boundary_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    idx = _index(rows)
    budgets = sorted({r["budget"] for r in rows if r["study"] == "boundary"})
    fig, ax = plt.subplots(figsize=(6, 4))
    for ckpt in _labels(rows, "checkpoint", "boundary"):
        ax.plot(budgets, [_get(idx, "puct", ckpt, b, "optimal_share", study="boundary", seed=0)
                          for b in budgets], marker="o", label=ckpt)
    ax.set_xscale("log", base=2)
    ax.set(xlabel="simulations (PUCT)", ylabel="optimal share",
           title=f"{cfg.game}: accuracy against the budget")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
