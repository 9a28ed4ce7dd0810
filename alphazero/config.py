"""Configuration: frozen dataclasses built from YAML.

One loader builds every section with ``yaml.safe_load``; an unknown or mistyped key is a
``ConfigError`` that names it (with a suggestion when the key looks like a typo). Components
take their own section; only entry points see the whole ``Config``.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import math
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nets.backends import BACKENDS
from nets.config import NetworkConfig
from search.params import MAX_SIMULATIONS, SearchParams

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


class ConfigError(ValueError):
    """A config file or override that cannot be used, with the offending key named."""


MAX_CONFIG_BYTES = 1 << 20
"""A config file larger than this (1 MiB; the shipped ones are ~2 KB) is refused unread."""
MAX_YAML_NODES = 100_000
"""Values a config may expand to, aliases (``*name``) counted each time they are used (the
shipped configs hold ~150). The limit stops an alias bomb ("billion laughs": a few lines of
nested aliases that expand to billions of values) before anything walks, prints or copies
what it expands to."""


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values under ``node`` with every alias expanded, counted without expanding (memoised:
    an alias is the same node object as its anchor)."""
    key = id(node)
    if key not in sizes:
        sizes[key] = 1  # a recursive alias counts once, not forever
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        total = 1
        for child in children:
            total += _expanded_size(child, sizes)
            if total > MAX_YAML_NODES:
                break
        sizes[key] = total
    return sizes[key]


def parse_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load`` of ``text`` refusing more than MAX_YAML_NODES expanded values;
    ConfigError naming ``where``."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_YAML_NODES:
            raise ConfigError(f"{where} expands to more than {MAX_YAML_NODES} values (YAML "
                              "aliases used over and over: an alias bomb?): refused")
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        raise ConfigError(f"{where} is not valid YAML: {err}") from None
    except RecursionError:
        raise ConfigError(f"{where} is nested too deeply") from None
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> Any:
    """The YAML data of the config file ``path``: at most MAX_CONFIG_BYTES of UTF-8 text and
    MAX_YAML_NODES values, else a one-line ConfigError (also for a missing file)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {path} is larger than {MAX_CONFIG_BYTES} bytes")
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {raw[err.start]:#04x} "
                          f"at offset {err.start})") from None
    return parse_yaml(text, str(path))


@dataclass(frozen=True)
class SelfPlayConfig:
    """How self-play games are generated."""

    workers: int = 2
    """Self-play worker processes (Ray actors)."""
    games_per_worker: int = 64
    """Games each worker plays at once; their leaves share one network call."""
    simulations: int = 0
    """Simulations per self-play move; 0 means search.simulations. The search section also
    sets play, analysis and the evaluation ladder, which may want a larger budget."""
    temperature_moves: int = 8
    """Moves (plies) sampled with temperature 1 at the start of a game; greedy after."""
    noise_moves: int = 0
    """Plies of each game searched with root noise (Dirichlet for PUCT, Gumbel for Gumbel);
    0: every move. Gumbel's noise is what makes its move random, so with noise_moves > 0 a
    Gumbel game is random only in its first noise_moves plies and its outcomes judge the
    later positions by greedy play."""
    random_opening_plies: int = 0
    """Each game opens with a number of uniformly random plies, drawn uniformly from 0 to this
    (0: none). Those positions are not trained on. They show the network positions its own
    play avoids, such as an opponent building along the bottom row of Connect Four."""
    value_target_q: float = 0.0
    """Weight of the search's root value in the value target: (1 - w) * game outcome + w *
    root value. 0 trains on the outcome alone (AlphaZero)."""
    max_moves: int = 512
    """A game longer than this is scored as a draw."""
    resign_threshold: float = -0.95
    """Resign when root value and best child value are below this (-1 disables)."""
    resign_playthrough: float = 0.1
    """Share of games that never resign, to measure false resignations."""
    inference_server: bool = False
    """Batch all workers' evaluations in one inference actor (on a GPU when there is one)."""
    inference_wait_ms: float = 2.0
    """Inference server: how long a request waits for others to join its batch."""
    report_seconds: float = 5.0
    """A worker sends its finished games to the learner about this often (seconds)."""
    fast_simulations: int = 0
    """Playout cap randomisation (KataGo): simulations of a cheap move that is played but not
    trained on; 0 disables it (every move gets search.simulations and is a training position)."""
    full_search_share: float = 1.0
    """With fast_simulations > 0: share of moves searched fully and recorded for training."""

    def __post_init__(self) -> None:
        if self.workers < 1 or self.games_per_worker < 1:
            raise ValueError("selfplay.workers and selfplay.games_per_worker must be >= 1")
        if self.max_moves < 1:
            raise ValueError("selfplay.max_moves must be >= 1")
        if not 0.0 <= self.resign_playthrough <= 1.0:
            raise ValueError("selfplay.resign_playthrough must be in [0, 1]")
        if not 0.0 < self.full_search_share <= 1.0:
            raise ValueError("selfplay.full_search_share must be in (0, 1]")
        if not 0.0 <= self.value_target_q <= 1.0:
            raise ValueError("selfplay.value_target_q must be in [0, 1]")
        if self.noise_moves < 0 or self.random_opening_plies < 0:
            raise ValueError("selfplay.noise_moves and random_opening_plies must be >= 0")
        if self.simulations < 0 or self.fast_simulations < 0 or self.report_seconds <= 0:
            raise ValueError("selfplay.simulations and fast_simulations must be >= 0, "
                             "report_seconds > 0")
        if max(self.simulations, self.fast_simulations) > MAX_SIMULATIONS:
            raise ValueError(f"selfplay.simulations and fast_simulations must be <= "
                             f"{MAX_SIMULATIONS}")
        if self.temperature_moves < 0 or self.inference_wait_ms < 0:
            raise ValueError("selfplay.temperature_moves and inference_wait_ms must be >= 0")


@dataclass(frozen=True)
class TrainConfig:
    """How the learner trains."""

    steps: int = 1000
    """Learner steps (mini-batches) in the run."""
    minutes: float = 0.0
    """Wall-time budget of the run in minutes (0: none). The run ends at ``steps`` or when
    the budget is spent, whichever comes first; the cosine schedule follows whichever is
    further along, so a time-bound run still decays its learning rate. A resumed run counts
    the time spent before."""
    cpu_minutes: float = 0.0
    """CPU-time budget in minutes (0: none): CPU time of the self-play workers and the
    learner, summed (the ladder's not counted), as the run's clock when recipes are compared
    on a shared or busy machine. Ends the run and drives the schedule like ``minutes``."""
    batch_size: int = 256
    """Positions per mini-batch."""
    optimizer: str = "sgd"
    """sgd (momentum 0.9, L2 weight decay) or adamw (decoupled weight decay)."""
    lr: float = 0.02
    """Peak learning rate."""
    lr_schedule: str = "cosine"
    """constant or cosine (decays to 10% of lr over the run)."""
    weight_decay: float = 1e-4
    """Weight decay of the optimizer."""
    value_loss_weight: float = 1.0
    """Weight of the value MSE against the policy cross-entropy."""
    buffer_size: int = 100_000
    """Replay buffer capacity in positions."""
    min_buffer: int = 2_000
    """Positions in the buffer before the learner starts."""
    sample_reuse: float = 4.0
    """Target number of times a position is sampled on average: the learner waits for fresh
    games so that steps * batch_size <= sample_reuse * positions generated."""
    publish_every: int = 20
    """Steps between weight versions sent to the workers."""
    checkpoint_every: int = 200
    """Steps between checkpoints (model, optimizer, RNG states and replay buffer)."""
    keep_checkpoints: int = 3
    """Checkpoints kept besides best.pt (older ones are deleted with their buffer files)."""
    eval_every: int = 500
    """Steps between runs of the evaluation ladder (0: never)."""
    eval_games: int = 40
    """Games per opponent in the evaluation ladder."""
    eval_simulations: int = 0
    """Simulations per move in the ladder (0: search.simulations, as in self-play)."""
    eval_history: int = 1
    """Earlier checkpoints of the run (the newest ones) the ladder plays against."""
    best_metric: str = "auto"
    """Ladder metric whose highest value marks best.pt; auto: solver/optimal_share_search if
    present, else the first solver/... metric, else the first elo/... one."""
    seed: int = 0
    """Seeds the network initialisation, the learner's sampling and the workers' games."""

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"train.optimizer must be sgd or adamw, not {self.optimizer!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"train.lr_schedule must be constant or cosine, "
                             f"not {self.lr_schedule!r}")
        for name in ("steps", "batch_size", "buffer_size", "publish_every", "checkpoint_every",
                     "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be >= 1")
        if self.sample_reuse <= 0:
            raise ValueError("train.sample_reuse must be > 0")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"train.lr must be a finite number > 0, not {self.lr!r}")
        for name in ("weight_decay", "value_loss_weight"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"train.{name} must be a finite number >= 0, "
                                 f"not {getattr(self, name)!r}")
        if self.minutes < 0 or self.cpu_minutes < 0:
            raise ValueError("train.minutes and train.cpu_minutes must be >= 0")
        if self.eval_simulations < 0 or self.eval_history < 0 or self.eval_every < 0:
            raise ValueError("train.eval_simulations, eval_history and eval_every must be >= 0")
        if self.eval_simulations > MAX_SIMULATIONS:
            raise ValueError(f"train.eval_simulations must be <= {MAX_SIMULATIONS}")
        if self.eval_games < 1 or self.min_buffer < 0:
            raise ValueError("train.eval_games must be >= 1 and train.min_buffer >= 0")
        if self.min_buffer > self.buffer_size:
            raise ValueError("train.min_buffer cannot exceed train.buffer_size")


METHODS = ("deviation", "reinforce")
"""Gradients of the learned search's selection (``TrainSearchConfig.method``)."""


@dataclass(frozen=True)
class TrainSearchConfig:
    """How the learned search is trained (``alphazero train-search``, and ``ablate``'s
    ``train`` section, take their defaults from here)."""

    method: str = "deviation"
    """Gradient of the selection: deviation (every child of a sampled decision tried, exact
    expectation) or reinforce (every decision of a search sampled from the softened rule, a
    paired PUCT search as the baseline; one search per position)."""
    budgets: tuple[int, ...] = (4, 8, 16, 32, 64)
    """Simulation budgets to train over."""
    positions: int = 2000
    """Training positions the commands make (solver-labelled: labelled seed 1; or random
    playouts for the search teacher); ``train_learned_search`` takes them as given."""
    positions_per_batch: int = 32
    """Decisions (positions) per iteration."""
    iterations: int = 300
    """Training iterations."""
    lr: float = 3e-3
    """Adam learning rate of the selection and readout networks."""
    temperature: float = 0.1
    """Softening of the selection choice for its gradient (PUCT scores are O(1))."""
    readout_temperature: float = 0.5
    """Softening of the readout's move distribution."""
    regularization: float = 0.05
    """Weight of the mean squared residual (pulls the rule toward PUCT)."""
    depth_weights: tuple[float, ...] = (0.5, 0.3, 0.2)
    """Probability of forcing a decision at depth 0, 1, 2."""
    decisions_per_simulation: int = 10
    """REINFORCE: room for this many recorded decisions per simulation (on average over a
    search); a search that makes more is dropped (``charts/overflow``)."""
    seed: int = 0
    """Seeds the networks' initialisation and the sampling of positions and decisions."""
    backup_iterations: int = 0
    """Iterations of the learned backup's training after the selection's (0: the mean
    backup). It has no gradient through the search: antithetic evolution strategies on the
    cost of the searches' moves (``alphazero.learned.backup``)."""
    backup_pairs: int = 4
    """Antithetic pairs of perturbed backup weights per iteration (two searches each)."""
    backup_sigma: float = 0.1
    """Standard deviation of the perturbations."""
    backup_lr: float = 0.05
    """Adam learning rate of the backup's weights."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if not self.budgets or not all(1 <= b <= MAX_SIMULATIONS for b in self.budgets):
            raise ValueError(f"train-search budgets must be in [1, {MAX_SIMULATIONS}], not "
                             f"{self.budgets}")
        for name in ("positions", "positions_per_batch", "decisions_per_simulation",
                     "backup_pairs"):
            if getattr(self, name) < 1:
                raise ValueError(f"train-search {name} must be >= 1, not {getattr(self, name)}")
        if self.iterations < 0 or self.backup_iterations < 0 or \
                self.iterations + self.backup_iterations < 1:
            raise ValueError("train-search iterations and backup_iterations must be >= 0, "
                             "and not both 0")
        if not (self.backup_sigma > 0 and self.backup_lr > 0):
            raise ValueError("train-search backup_sigma and backup_lr must be > 0")
        _check_search_loss_settings(self, "train-search ")


def _check_search_loss_settings(cfg: Any, prefix: str) -> None:
    """The settings the learned search's losses share (train-search and search_training)."""
    if not (cfg.lr > 0 and cfg.temperature > 0 and cfg.readout_temperature > 0
            and cfg.regularization >= 0):
        raise ValueError(f"{prefix}lr, temperature and readout_temperature must be > 0, "
                         f"regularization >= 0")
    if not cfg.depth_weights or min(cfg.depth_weights) < 0 or sum(cfg.depth_weights) <= 0:
        raise ValueError(f"{prefix}depth_weights must be >= 0 with a positive sum")


@dataclass(frozen=True)
class SearchTrainingConfig:
    """Training the learned search inside self-play, in tandem with the network (search.arm:
    learned). No solver: the signal is the same network searching with ``teacher_factor``
    times the budget (docs/learned_search.md, "Tandem training")."""

    enabled: bool = False
    """Train the learned search during ``alphazero train`` (needs search.arm: learned). It
    starts from search.learned_weights when that is set, else untrained (exactly PUCT)."""
    root_share: float = 0.125
    """Share of self-play's fully searched positions whose game states the workers send to
    the learner as training roots."""
    pool: int = 4096
    """Most recent training roots the learner keeps."""
    iterations: int = 2
    """Search-training iterations per weight publication (train.publish_every steps)."""
    positions_per_batch: int = 8
    """Roots per iteration: each gets a teacher search, a student search and one deviation
    search per legal move."""
    budgets: tuple[int, ...] = ()
    """Simulation budgets the search is trained for; empty: self-play's own budget."""
    teacher_factor: int = 8
    """The teacher searches with this many times the budget."""
    teacher_arm: str = "learned"
    """learned: the teacher is the learned search itself with more simulations (it improves
    as the search does); puct: a fixed hand-written teacher."""
    target: bool = True
    """Also learn the policy-improvement target (``search.learned.improved_policy``), fit to
    the teacher's policy from the student search's root statistics."""
    lr: float = 3e-3
    """Adam learning rate of the selection, readout and target parameters."""
    temperature: float = 0.1
    """Softening of the selection choice for its gradient (as train-search)."""
    readout_temperature: float = 0.5
    """Softening of the readout's move distribution (as train-search)."""
    regularization: float = 0.05
    """Weight of the mean squared selection residual (pulls the rule toward PUCT)."""
    depth_weights: tuple[float, ...] = (0.5, 0.3, 0.2)
    """Probability of training a decision at depth 0, 1, 2."""
    backup_pairs: int = 0
    """Also train the learned backup (``search.kernels.backup_mix``): antithetic ES pairs per
    iteration, two student searches of the iteration's roots each, scored by the teacher's
    costs (``alphazero.learned.backup``). 0: the backup is not trained (the mean backup, or
    search.learned_weights' own, kept fixed)."""
    backup_sigma: float = 0.1
    """Standard deviation of the backup's perturbations."""
    backup_lr: float = 0.05
    """Adam learning rate of the backup's weights."""

    def __post_init__(self) -> None:
        if self.backup_pairs < 0:
            raise ValueError("search_training.backup_pairs must be >= 0 (0: the backup is "
                             "not trained)")
        if not (self.backup_sigma > 0 and self.backup_lr > 0):
            raise ValueError("search_training.backup_sigma and backup_lr must be > 0")
        if not 0.0 < self.root_share <= 1.0:
            raise ValueError("search_training.root_share must be in (0, 1]")
        for name in ("pool", "iterations", "positions_per_batch", "teacher_factor"):
            if getattr(self, name) < 1:
                raise ValueError(f"search_training.{name} must be >= 1, not "
                                 f"{getattr(self, name)}")
        if self.positions_per_batch > self.pool:
            raise ValueError("search_training.positions_per_batch must be <= pool")
        if not all(1 <= b <= MAX_SIMULATIONS for b in self.budgets):
            raise ValueError(f"search_training.budgets must be in [1, {MAX_SIMULATIONS}]")
        if max(self.budgets, default=1) * self.teacher_factor > MAX_SIMULATIONS:
            raise ValueError(f"search_training: the teacher's budget (budgets x teacher_factor)"
                             f" must be <= {MAX_SIMULATIONS}")
        if self.teacher_arm not in ("learned", "puct"):
            raise ValueError(f"search_training.teacher_arm must be learned or puct, not "
                             f"{self.teacher_arm!r}")
        _check_search_loss_settings(self, "search_training.")


@dataclass(frozen=True)
class PretrainOptions:
    """How pretraining runs (the network comes from the config); ``alphazero pretrain``'s
    flags take their defaults from here."""

    steps: int = 10_000
    """Optimizer steps (mini-batches)."""
    batch_size: int = 256
    """Positions per mini-batch (the command's default: the config's train.batch_size)."""
    lr: float = 1e-3
    """AdamW learning rate, decayed by a cosine to 10% over the run."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    value_loss_weight: float = 1.0
    """Weight of the value MSE against the policy cross-entropy."""
    eval_weight: float = 0.75
    """Share of a ``[%eval]`` annotation's expected score in the value target."""
    shuffle_buffer: int = 50_000
    """Positions held for shuffling."""
    sample_reuse: float = 1.0
    """Times each position is sampled, on average, per pass over the files."""
    checkpoint_every: int = 500
    """Steps between checkpoints (and one at the end)."""
    max_minutes: float | None = None
    """Wall-clock budget: training stops when it is spent, and the learning rate decays over
    whichever of steps or time runs out first."""
    holdout_every: int = 50
    """Every Nth game (in file order) is held out: never trained on, its positions measure
    the network at each checkpoint, and the best of them is also saved as ``*.best.pt``
    (0: no hold-out)."""
    validation_positions: int = 4000
    """Held-out positions used for validation (from the first held-out games)."""
    seed: int = 0
    """Seeds the network's initialisation and the shuffling."""


@dataclass(frozen=True)
class Config:
    """A whole run: the game, the network, the search, self-play and training."""

    game: str = "connect4"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    search: SearchParams = field(default_factory=SearchParams)
    selfplay: SelfPlayConfig = field(default_factory=SelfPlayConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    search_training: SearchTrainingConfig = field(default_factory=SearchTrainingConfig)
    """Training the learned search during self-play (off unless enabled)."""
    device: str = "auto"
    """auto (CUDA when available), cuda or cpu."""
    backend: str = "auto"
    """What runs the network on a CPU, in self-play, the ladder, analyse, play, uci and match
    (their --backend overrides it): auto (ONNX Runtime fp32 when installed, else numpy and
    torch: the fastest exact engine), onnx, onnx-int8 (int8 convolutions calibrated on random
    playouts, ~2.5x onnx; set per game where its accuracy was measured, BENCHMARKS.md), numpy
    or torch. On a GPU the network runs in torch."""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not "
                             f"{self.backend!r}")
        if self.search_training.enabled and self.search.arm != "learned":
            raise ValueError(f"search_training.enabled needs search.arm: learned, not "
                             f"{self.search.arm!r}")


def _coerce(value: Any, kind: Any, key: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):  # YAML's .nan and .inf: no setting means either
                raise ConfigError(f"config key '{key}' must be a finite number, not {value!r}")
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, (list, tuple)):
            (item,) = {a for a in typing.get_args(kind) if a is not Ellipsis}
            return tuple(_coerce(v, item, key) for v in value)
    else:
        return value
    name = getattr(kind, "__name__", str(kind))
    raise ConfigError(f"config key '{key}' must be {name}, not {value!r}")


def build(cls: type, data: Any, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys by name."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config section '{prefix.rstrip('.') or '<top>'}' must be a mapping")
    known = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise ConfigError(f"unknown config key '{prefix}{key}'{hint}")
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            kwargs[key] = build(kind, value, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, kind, f"{prefix}{key}")
    try:
        return cls(**kwargs)
    except ValueError as err:  # a section's own validation
        raise ConfigError(str(err)) from None


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Set ``key.sub=value`` overrides (values parsed as YAML) on a nested dict."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: '{part}' is not a section")
        node[parts[-1]] = parse_yaml(raw, f"override of {key.strip()!r}")
    return data


def config_path(name_or_path: str) -> Path:
    """A config file path; a bare game name means the shipped ``configs/<game>.yaml``."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return CONFIG_DIR / f"{name_or_path}.yaml"


def load_config(name_or_path: str, overrides: list[str] | None = None) -> Config:
    path = config_path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys, not "
                          f"{type(data).__name__}")
    data = apply_overrides(data, overrides or [])
    config = build(Config, data)
    check_game(config.game)
    return config


def check_game(name: str) -> None:
    """ConfigError unless ``name`` is a registered game (read when a config is loaded, so a
    game registered by the user's own code counts)."""
    from games import game_names

    if name not in game_names():
        raise ConfigError(f"config key 'game': unknown game {name!r}; choose one of "
                          f"{', '.join(game_names())}")


def to_dict(config: Any) -> dict:
    return dataclasses.asdict(config)


def field_docs(cls: type) -> dict[str, str]:
    """Each field's docstring (the string literal under it) of dataclass ``cls``, on one line:
    what a command's ``--help`` says about a flag that takes its default from the field."""
    return _class_field_docs(sys.modules[cls.__module__].__file__).get(cls.__qualname__, {})


@functools.cache
def _class_field_docs(path: str) -> dict[str, dict[str, str]]:
    """Class name -> field docstrings, for every top-level class of the module file ``path``
    (one parse of the file, ~2 ms: the commands read it when they build their parsers)."""
    out: dict[str, dict[str, str]] = {}
    for node in ast.parse(Path(path).read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.ClassDef):
            continue
        docs = out[node.name] = {}
        for field_node, after in zip(node.body, node.body[1:]):
            if isinstance(field_node, ast.AnnAssign) and isinstance(field_node.target, ast.Name) \
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) \
                    and isinstance(after.value.value, str):
                docs[field_node.target.id] = " ".join(after.value.value.split())
    return out
