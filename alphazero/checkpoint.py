"""Checkpoints: a plain dict written atomically with `torch.save`, read back with `weights_only`.

A checkpoint holds

    {"format_version": 1, "game": str, "network": dict of NetworkConfig fields,
     "observation_shape": (C, H, W), "num_actions": int, "model": state_dict, **extra}

`extra` carries whatever the caller needs to resume (optimizer state, step, config dict, RNG
states, ...). Loading uses `torch.load(weights_only=True)`, which only accepts tensors, plain
Python containers, numbers, strings and a few torch types; so keep `extra` to those. In particular
store RNG states in forms it accepts:

    torch.get_rng_state()              # a uint8 tensor: fine as is
    np.random.default_rng().bit_generator.state   # a dict of str/int: fine as is
    random.getstate()                  # a tuple of ints: fine as is
    np.random.get_state()              # holds an ndarray: store torch.from_numpy(state[1]) etc.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, Callable

import torch

from alphazero.network import NetworkConfig, PolicyValueNet

FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "game", "network", "observation_shape", "num_actions", "model")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, of another format, or for another game."""


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model_state: Mapping[str, torch.Tensor],
    network_config: Mapping[str, Any] | NetworkConfig,
    game: str,
    observation_shape: tuple[int, int, int],
    num_actions: int,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write a checkpoint to `path` atomically: a reader sees the old file or the new one whole.

    The dict is written to a temporary file in the same directory, flushed and fsynced, then
    renamed over `path` with `os.replace`. `extra` keys may not shadow the standard ones.
    """
    if isinstance(network_config, NetworkConfig):
        network_config = dataclasses.asdict(network_config)
    extra = dict(extra or {})
    clashes = sorted(set(extra) & set(REQUIRED_KEYS))
    if clashes:
        raise ValueError(f"extra keys {clashes} clash with the checkpoint's own keys")
    payload = {
        "format_version": FORMAT_VERSION,
        "game": str(game),
        "network": dict(network_config),
        "observation_shape": tuple(int(d) for d in observation_shape),
        "num_actions": int(num_actions),
        "model": dict(model_state),
        **extra,
    }

    atomic_torch_save(path, payload)


def atomic_torch_save(path: str | os.PathLike, payload: Any) -> None:
    """``torch.save`` to ``path`` atomically (see ``atomic_write``)."""
    atomic_write(path, lambda f: torch.save(payload, f))


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync, then rename it over
    ``path``: a reader (or a crash) sees the old file or the new one whole, never a part."""
    path = Path(path)
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint written by `save_checkpoint`; raise CheckpointError if bad."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or holds objects that weights_only loading refuses "
            f"(store them as tensors or plain Python values): {_unpickling_reason(e)}"
        ) from e
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupt ({path.stat().st_size} bytes): "
            f"{_first_line(e)}"
        ) from e
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"checkpoint {path} holds a {type(checkpoint).__name__}, not a checkpoint dict"
        )
    version = checkpoint.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format_version {version!r}; this code reads {FORMAT_VERSION}"
        )
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise CheckpointError(f"checkpoint {path} is missing keys {missing}")
    return checkpoint


def _first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (or its type name), cut to `limit` characters."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unpickling_reason(error: pickle.UnpicklingError) -> str:
    """The useful part of torch's long weights_only error ("Unsupported global: ...")."""
    marker = "WeightsUnpickler error:"
    text = str(error)
    if marker not in text:
        return _first_line(error)
    reason = text.split(marker, 1)[1].strip().splitlines()[0]
    return reason.split(" Please use", 1)[0]


def load_model(
    path: str | os.PathLike,
    device: torch.device | str = "cpu",
    expected_game: str | None = None,
) -> tuple[PolicyValueNet, dict[str, Any]]:
    """Build the stored network, load its weights, and return (model in eval mode, checkpoint)."""
    checkpoint = load_checkpoint(path, map_location="cpu")
    game = checkpoint["game"]
    if expected_game is not None and game != expected_game:
        raise CheckpointError(f"checkpoint {path} is for {game}, not {expected_game}")
    try:
        config = NetworkConfig(**checkpoint["network"])
    except TypeError as e:
        raise CheckpointError(f"checkpoint {path} has a bad network config: {e}") from e
    model = PolicyValueNet(
        config, tuple(checkpoint["observation_shape"]), int(checkpoint["num_actions"])
    )
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as e:
        raise CheckpointError(
            f"checkpoint {path} weights do not fit its network config: {_first_line(e)}"
        ) from e
    model.to(torch.device(device)).eval()
    return model, checkpoint
