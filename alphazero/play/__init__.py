"""Playing and analysing positions with a network and the search.

``SearchEngine`` keeps one tree over a game being played and reuses it from move to move
(``alphazero play`` and the UCI engine use it); ``analyse_states`` searches a list of
positions together and describes each result (``alphazero analyse``); ``play_session`` is the
terminal game against the engine.
"""

from alphazero.play.analyse import analyse_lines, analyse_states, parse_lines
from alphazero.play.engine import Analysis, SearchEngine
from alphazero.play.terminal import play_session, save_pgn

__all__ = [
    "Analysis",
    "SearchEngine",
    "analyse_lines",
    "analyse_states",
    "parse_lines",
    "play_session",
    "save_pgn",
]
