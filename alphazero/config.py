"""Configuration: frozen dataclasses built from YAML.

One loader builds every section with ``yaml.safe_load``; an unknown or mistyped key is a
``ConfigError`` that names it (with a suggestion when the key looks like a typo). Components
take their own section; only entry points see the whole ``Config``.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alphazero.network import NetworkConfig
from search.params import SearchParams

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


class ConfigError(ValueError):
    """A config file or override that cannot be used, with the offending key named."""


@dataclass(frozen=True)
class SelfPlayConfig:
    """How self-play games are generated."""

    workers: int = 2
    """Self-play worker processes (Ray actors)."""
    games_per_worker: int = 64
    """Games each worker plays at once; their leaves share one network call."""
    temperature_moves: int = 8
    """Moves (plies) sampled with temperature 1 at the start of a game; greedy after."""
    max_moves: int = 512
    """A game longer than this is scored as a draw."""
    resign_threshold: float = -0.95
    """Resign when root value and best child value are below this (-1 disables)."""
    resign_playthrough: float = 0.1
    """Share of games that never resign, to measure false resignations."""
    inference_server: bool = False
    """Batch all workers' evaluations in one inference actor (on a GPU when there is one)."""


@dataclass(frozen=True)
class TrainConfig:
    """How the learner trains."""

    steps: int = 1000
    """Learner steps (mini-batches) in the run."""
    batch_size: int = 256
    lr: float = 0.02
    """SGD learning rate (momentum 0.9)."""
    lr_schedule: str = "cosine"
    """constant or cosine (decays to 10% of lr over the run)."""
    weight_decay: float = 1e-4
    value_loss_weight: float = 1.0
    buffer_size: int = 100_000
    """Replay buffer capacity in positions."""
    min_buffer: int = 2_000
    """Positions in the buffer before the learner starts."""
    sample_reuse: float = 4.0
    """Target number of times a position is sampled on average (controls learner speed)."""
    publish_every: int = 20
    """Steps between weight versions sent to the workers."""
    checkpoint_every: int = 200
    keep_checkpoints: int = 3
    eval_every: int = 500
    eval_games: int = 40
    seed: int = 0


@dataclass(frozen=True)
class Config:
    """A whole run: the game, the network, the search, self-play and training."""

    game: str = "connect4"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    search: SearchParams = field(default_factory=SearchParams)
    selfplay: SelfPlayConfig = field(default_factory=SelfPlayConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    device: str = "auto"
    """auto (CUDA when available), cuda or cpu."""


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
        try:
            node[parts[-1]] = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise ConfigError(f"override {item!r}: bad value ({err})") from None
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
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    data = apply_overrides(data, overrides or [])
    return build(Config, data)


def to_dict(config: Any) -> dict:
    return dataclasses.asdict(config)
