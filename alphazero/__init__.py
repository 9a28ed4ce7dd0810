"""AlphaZero-style training and play with a learnable search (the top layer).

Subpackages: ``train`` (self-play training, pretraining), ``eval`` (agents, matches, the
ladder, Elo, solver-labelled positions), ``learned`` (training the learned search), ``ablate``
(the search-arm studies), ``play`` (terminal play, analysis, the single-game engine), ``uci``
(the chess engine) and ``cli`` (the ``alphazero`` command). ``config`` holds every config
dataclass and YAML loader; ``load_config``, ``Config`` and ``ConfigError`` are re-exported
here. See docs/api.md.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# numpy's BLAS (OpenBLAS) starts a thread per core by default. The numpy network of analyse
# multiplies small matrices, and on a shared 2-core machine two spinning BLAS threads made it
# 10-30x slower than one (torch keeps its own thread count). It must be set before numpy is
# first imported, so here, before anything of the project loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

if TYPE_CHECKING:
    from alphazero.config import Config, ConfigError, load_config

DISTRIBUTION = "alphazero-learned-search"
"""The name this project is installed under (pyproject.toml), which holds its version."""

_CONFIG_NAMES = ("Config", "ConfigError", "load_config")


def __getattr__(name: str) -> Any:
    # Loaded on first access (PEP 562): this module runs first in every command, so it stays
    # cheap. The config module brings in numpy and Numba (about 0.4 s), and looking up the
    # version reads the installed package's metadata.
    if name == "__version__":
        value: Any = _installed_version()
    elif name in _CONFIG_NAMES:
        from alphazero import config

        value = getattr(config, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def _installed_version() -> str:
    """The installed distribution's version; "0+unknown" when this source tree is imported
    without being installed (for example through PYTHONPATH)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | {"__version__"})


__all__ = ["Config", "ConfigError", "load_config"]
