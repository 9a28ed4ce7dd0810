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

`read_checkpoint_arrays` reads the same file without torch (it costs about two seconds to
import): the zip archive's pickle is unpickled with an allow-list of globals (tensor rebuilds,
typed storages, OrderedDict; nothing else, like `weights_only`) and each tensor becomes a numpy
array over its raw storage record. The command-line tools use it to start fast
(`nets.numpy_net`); training keeps torch.
"""

from __future__ import annotations

import builtins
import collections
import dataclasses
import os
import pickle
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from nets.config import NetworkConfig
from nets.files import atomic_write

if TYPE_CHECKING:  # torch is imported inside the functions that need it: it is slow to import
    import torch

FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "game", "network", "observation_shape", "num_actions", "model")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, of another format, or for another game."""


class UnsupportedCheckpointError(CheckpointError):
    """The torch-free reader cannot read this file (it may still load with torch)."""


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
    import torch

    atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint written by `save_checkpoint`; raise CheckpointError if bad."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or holds objects that weights_only loading refuses "
            f"(store them as tensors or plain Python values): {unpickling_reason(e)}"
        ) from e
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError(_corrupt_message(path, e)) from e
    return _checked(path, checkpoint)


def _checked(path: Path, checkpoint: Any) -> dict[str, Any]:
    """`checkpoint` if it is a checkpoint dict of this format with every standard key."""
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


def _corrupt_message(path: Path, error: BaseException) -> str:
    return (f"checkpoint {path} is truncated or corrupt ({path.stat().st_size} bytes): "
            f"{first_line(error)}")


def network_shape(
    path: str | os.PathLike, checkpoint: Mapping[str, Any], expected_game: str | None = None
) -> tuple[NetworkConfig, tuple[int, int, int], int]:
    """(network config, observation shape, number of actions) of a checked checkpoint."""
    game = checkpoint["game"]
    if expected_game is not None and game != expected_game:
        raise CheckpointError(f"checkpoint {path} is for {game}, not {expected_game}")
    try:
        config = NetworkConfig(**checkpoint["network"])
        observation_shape = tuple(int(d) for d in checkpoint["observation_shape"])
        num_actions = int(checkpoint["num_actions"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path} has a bad network config: {e}") from e
    if num_actions < 1 or len(observation_shape) != 3 or min(observation_shape) < 1:
        raise CheckpointError(f"checkpoint {path} has a bad shape: num_actions {num_actions}, "
                              f"observation_shape {observation_shape} (all must be >= 1)")
    return config, observation_shape, num_actions  # type: ignore[return-value]


# ----------------------------------------------------------------- torch-free reading
# numpy dtype of each typed storage torch.save names in a persistent id ("torch FloatStorage").
_STORAGE_DTYPES = {
    "FloatStorage": "f4", "DoubleStorage": "f8", "HalfStorage": "f2", "LongStorage": "i8",
    "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1", "ByteStorage": "u1",
    "BoolStorage": "?",
}
_ZIP_MAGIC = b"PK\x03\x04"
MAX_COMPRESSION = 100
"""A compressed storage record (torch.save writes them uncompressed) that would unpack to more
than this many times its size is refused: the reader's memory stays bounded by the file's."""


@dataclasses.dataclass(frozen=True)
class _StorageType:
    dtype: str


class _Unsupported(Exception):
    """Raised inside the unpickler; becomes UnsupportedCheckpointError."""


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple, stride: tuple,
                    requires_grad: bool = False, hooks: Any = None, metadata: Any = None
                    ) -> np.ndarray:
    """torch._utils._rebuild_tensor_v2 for numpy: a bounds-checked strided copy of a storage."""
    size, stride, offset = tuple(map(int, size)), tuple(map(int, stride)), int(offset)
    if len(size) != len(stride) or offset < 0 or min(size + stride, default=0) < 0:
        raise ValueError(f"bad tensor layout: offset {offset}, size {size}, stride {stride}")
    # The copy below allocates one element per entry of `size`; a stride of 0 (or strides
    # that overlap) lets a small file ask for any number of them. A checkpoint's tensors never
    # hold more elements than their storage, so that bounds what this reader allocates.
    numel = int(np.prod(size, dtype=object))  # exact: no overflow for hostile sizes
    if numel > storage.size:
        raise ValueError(f"tensor of size {size} has {numel} elements, more than its "
                         f"storage of {storage.size}")
    if numel == 0:
        return np.zeros(size, dtype=storage.dtype.newbyteorder("="))
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= storage.size:
        raise ValueError(f"tensor of size {size} runs past its storage of {storage.size}")
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=[s * storage.itemsize for s in stride])
    return view.astype(storage.dtype.newbyteorder("="), copy=True)  # native order, contiguous


def _rebuild_parameter(data: np.ndarray, requires_grad: bool = False, hooks: Any = None,
                       state: Any = None) -> np.ndarray:
    return data


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """How protocol-2 pickles store bytes: _codecs.encode(text, "latin1"), nothing else."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise _Unsupported(f"_codecs.encode(..., {encoding!r})")
    return text.encode("latin1")


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): tuple,
    ("collections", "OrderedDict"): collections.OrderedDict,
    **{(module, name): getattr(builtins, name)  # protocol 2 says "__builtin__"
       for module in ("builtins", "__builtin__") for name in ("set", "complex")},
    ("_codecs", "encode"): _latin1_bytes,
    **{("torch", name): _StorageType(dtype) for name, dtype in _STORAGE_DTYPES.items()},
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles torch.save's data.pkl with numpy arrays for tensors and no other globals."""

    def __init__(self, file: BinaryIO, archive: zipfile.ZipFile, prefix: str, byteorder: str):
        super().__init__(file)
        self._archive, self._prefix, self._byteorder = archive, prefix, byteorder
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _Unsupported(f"{module}.{name}") from None

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise _Unsupported(f"storage {storage_type!r}")
        key = str(key)
        if key not in self._storages:
            dtype = np.dtype(storage_type.dtype).newbyteorder(self._byteorder)
            name = f"{self._prefix}data/{key}"
            info = self._archive.getinfo(name)
            if info.compress_type != zipfile.ZIP_STORED and \
                    info.file_size > MAX_COMPRESSION * max(info.compress_size, 1):
                raise ValueError(f"storage {key} claims {info.file_size} bytes from "
                                 f"{info.compress_size} compressed (torch stores, never packs)")
            raw = self._archive.read(name)
            if len(raw) < int(numel) * dtype.itemsize:
                raise ValueError(f"storage {key} has {len(raw)} bytes, needs "
                                 f"{int(numel) * dtype.itemsize}")
            self._storages[key] = np.frombuffer(raw, dtype=dtype, count=int(numel))
        return self._storages[key]


def read_checkpoint_arrays(path: str | os.PathLike) -> dict[str, Any]:
    """`load_checkpoint` without torch: the same checked dict, with numpy arrays for tensors.

    Raises CheckpointError for a missing, truncated or corrupt file, and its subclass
    UnsupportedCheckpointError for a file this reader does not handle (the legacy non-zip
    format, a dtype numpy lacks such as bfloat16, any other global): `load_checkpoint` may read
    those, and refuses what `weights_only` refuses.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:1] == b"\x80":  # a bare pickle: torch's legacy (pre-1.6) format
        raise UnsupportedCheckpointError(f"checkpoint {path} is in torch's legacy format")
    if head != _ZIP_MAGIC:
        raise CheckpointError(_corrupt_message(path, ValueError("not a zip archive")))
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
            if not names:
                raise KeyError("no data.pkl record in the archive")
            prefix = names[0][: -len("data.pkl")]
            byteorder = "<"
            if f"{prefix}byteorder" in archive.namelist():
                byteorder = {b"little": "<", b"big": ">"}[archive.read(f"{prefix}byteorder")]
            with archive.open(names[0]) as pkl:
                checkpoint = _ArrayUnpickler(pkl, archive, prefix, byteorder).load()
    except _Unsupported as e:
        raise UnsupportedCheckpointError(
            f"checkpoint {path} holds {e}, which the torch-free reader does not read") from None
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError,
            TypeError, IndexError, AttributeError, struct.error, zlib.error) as e:
        raise CheckpointError(_corrupt_message(path, e)) from e
    return _checked(path, checkpoint)


def first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (or its type name), cut to `limit` characters."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unpickling_reason(error: pickle.UnpicklingError) -> str:
    """The useful part of torch's long weights_only error ("Unsupported global: ...")."""
    marker = "WeightsUnpickler error:"
    text = str(error)
    found = re.search(r"unsupported GLOBAL (\S+)", text, re.IGNORECASE)
    if found:  # what a hostile file (a __reduce__ calling os.system, say) looks like
        return (f"it names {found.group(1)}, which could run code when loaded: refused, "
                "nothing was run")
    if marker not in text:
        return first_line(error)
    reason = text.split(marker, 1)[1].strip().splitlines()[0]
    return reason.split(" Please use", 1)[0]
