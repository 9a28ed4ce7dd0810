"""The UCI chess engine: the protocol loop, the search thread and its clock, and the tree's
proven results.

``UCIEngine(out).handle(line)`` answers one line of UCI; ``alphazero uci`` feeds it stdin.
``read_root`` reads what a finished search proved (forced wins and losses) and is used by
``alphazero play`` too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphazero.uci.tree import RootReport, principal_line, read_root
from nets.lazy import lazy_attributes

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
__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)


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
