"""The UCI chess engine: the protocol loop, the search thread and its clock, and the tree's
proven results.

``UCIEngine(out).handle(line)`` answers one line of UCI; ``alphazero uci`` feeds it stdin.
``read_root`` reads what a finished search proved (forced wins and losses) and is used by
``alphazero play`` too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from alphazero.uci.tree import RootReport, principal_line, read_root

if TYPE_CHECKING:
    from alphazero.uci.protocol import UCIEngine, parse_go
    from alphazero.uci.search import GoLimits, time_budget, value_to_cp

# The protocol and search modules import python-chess at their top (about 40 ms); they load
# on first access (PEP 562), so `alphazero play connect4`, which reads the tree through
# alphazero.uci.tree after each engine move, does not import chess.
_LAZY = {
    "UCIEngine": "alphazero.uci.protocol",
    "parse_go": "alphazero.uci.protocol",
    "GoLimits": "alphazero.uci.search",
    "time_budget": "alphazero.uci.search",
    "value_to_cp": "alphazero.uci.search",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "GoLimits",
    "RootReport",
    "UCIEngine",
    "parse_go",
    "principal_line",
    "read_root",
    "time_budget",
    "value_to_cp",
]
