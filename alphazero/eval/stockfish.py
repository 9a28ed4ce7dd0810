"""Stockfish as an opponent: finding the binary and an agent driven through ``chess.engine``.

    agent = StockfishAgent(0, movetime=0.1)      # Skill Level 0, 100 ms a move
    actions = agent.select_moves([board1, board2])
    agent.close()

The binary is looked up in the ``STOCKFISH_PATH`` environment variable, then on ``PATH``, then in
``/usr/games/stockfish`` and ``/usr/bin/stockfish`` (Debian's package installs it under
``/usr/games``, which is not on root's ``PATH``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import chess
import chess.engine

from games.chess import encode_move

FALLBACK_PATHS = ("/usr/games/stockfish", "/usr/bin/stockfish", "/usr/local/bin/stockfish")
MIN_LEVEL, MAX_LEVEL = 0, 20


class StockfishNotFoundError(RuntimeError):
    """No Stockfish binary could be found or started."""


def find_stockfish(explicit: str | None = None) -> str:
    """Path of a Stockfish binary: ``explicit``, $STOCKFISH_PATH, PATH, then the Debian places.

    Raises StockfishNotFoundError naming every place it looked.
    """
    candidates: list[str] = []
    if explicit:
        candidates.append(explicit)
    env = os.environ.get("STOCKFISH_PATH")
    if env:
        candidates.append(env)
    on_path = shutil.which("stockfish")
    if on_path:
        candidates.append(on_path)
    candidates.extend(FALLBACK_PATHS)
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise StockfishNotFoundError(
        "Stockfish not found (looked at $STOCKFISH_PATH, PATH, "
        f"{', '.join(FALLBACK_PATHS)}): install it (Debian: apt-get install stockfish) "
        "or set STOCKFISH_PATH"
    )


def open_engine(path: str | None = None, *, options: dict | None = None
                ) -> chess.engine.SimpleEngine:
    """Start Stockfish (one thread, 16 MB hash unless ``options`` say otherwise)."""
    binary = find_stockfish(path)
    try:
        engine = chess.engine.SimpleEngine.popen_uci(binary)
    except (OSError, chess.engine.EngineError) as err:
        raise StockfishNotFoundError(f"cannot start Stockfish at {binary}: {err}") from None
    settings = {"Threads": 1, "Hash": 16, **(options or {})}
    engine.configure({k: v for k, v in settings.items() if k in engine.options})
    return engine


class StockfishAgent:
    """Stockfish at a ``Skill Level`` (0-20) behind the Agent protocol.

    Args:
      level: Stockfish's ``Skill Level``, 0 (weakest) to 20 (full strength).
      nodes: nodes searched per move (None: no node limit).
      movetime: seconds per move (None: no time limit). With neither limit, 0.1 s a move.
      path: the binary (default: see ``find_stockfish``).

    Moves are chosen one position at a time (Stockfish searches a single position); the
    engine process starts on first use and ends with ``close()``.
    """

    def __init__(self, level: int, nodes: int | None = None, movetime: float | None = None, *,
                 path: str | None = None):
        level = int(level)
        if not MIN_LEVEL <= level <= MAX_LEVEL:
            raise ValueError(f"Stockfish skill level must be in {MIN_LEVEL}..{MAX_LEVEL}, "
                             f"not {level}")
        if nodes is not None and nodes < 1:
            raise ValueError(f"nodes must be >= 1, not {nodes}")
        if movetime is not None and movetime <= 0:
            raise ValueError(f"movetime must be > 0, not {movetime}")
        self.level = level
        if nodes is None and movetime is None:
            movetime = 0.1
        self.limit = chess.engine.Limit(nodes=nodes, time=movetime)
        self.path = find_stockfish(path)  # fail now, with a clear message, if it is missing
        self.name = f"stockfish:{level}"
        self._engine: chess.engine.SimpleEngine | None = None
        self._games = 0  # games started: python-chess sends ucinewgame when this changes

    def _ensure_engine(self) -> chess.engine.SimpleEngine:
        if self._engine is None:
            self._engine = open_engine(self.path, options={"Skill Level": self.level})
        return self._engine

    def reset(self) -> None:
        """Forget the previous game: the next move starts a new one (``ucinewgame``, which
        clears Stockfish's hash). The engine's own client sends it, from its own thread."""
        self._games += 1

    def select_move(self, board: chess.Board) -> chess.Move:
        """Stockfish's move in ``board`` (which must not be over)."""
        result = self._ensure_engine().play(board, self.limit, game=(id(self), self._games))
        if result.move is None:
            raise ValueError(f"Stockfish gave no move in {board.fen()}")
        return result.move

    def select_moves(self, states: Sequence[chess.Board]) -> list[int]:
        """Action indices (AlphaZero encoding) of Stockfish's moves, one per board."""
        return [encode_move(self.select_move(board), board.turn) for board in states]

    def close(self) -> None:
        if self._engine is not None:
            try:
                self._engine.quit()
            except (chess.engine.EngineError, chess.engine.EngineTerminatedError, OSError):
                pass
            self._engine = None

    def __enter__(self) -> StockfishAgent:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # best effort: do not leave engine processes behind
        try:
            self.close()
        except Exception:
            pass
