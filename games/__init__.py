"""Games behind one protocol: tic-tac-toe, Connect Four and chess."""

from __future__ import annotations

from games.base import Game, GameError, IllegalMoveError, InvalidPositionError

GAME_NAMES = ("tictactoe", "connect4", "chess")


def get_game(name: str) -> Game:
    """The game called ``name``; raises ValueError naming the known games."""
    if name == "tictactoe":
        from games.tictactoe import GAME
    elif name == "connect4":
        from games.connect4 import GAME
    elif name == "chess":
        from games.chess import GAME
    else:
        raise ValueError(f"unknown game {name!r}: choose one of {', '.join(GAME_NAMES)}")
    return GAME


def is_array_game(game: Game) -> bool:
    """True for games whose states are int64 arrays with Numba batch kernels."""
    return hasattr(game, "step_leaves") and hasattr(game, "state_size")


__all__ = ["Game", "GameError", "IllegalMoveError", "InvalidPositionError", "get_game",
           "GAME_NAMES", "is_array_game"]
