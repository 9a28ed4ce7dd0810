"""Games behind one protocol: tic-tac-toe, Connect Four, chess, and any you register.

``games.base`` declares the protocol (``Game``, ``ArrayGame``, the optional members and
``capabilities``); ``games.registry`` holds the games by name. See docs/own_game.md.
"""

from __future__ import annotations

from games.base import (
    ArrayGame,
    Capabilities,
    Game,
    GameDefinitionError,
    GameError,
    IllegalMoveError,
    InvalidPositionError,
    PackedGame,
    capabilities,
    check_game,
    is_array_game,
    legal_actions,
    random_opening,
    random_states,
)
from games.registry import GAME_NAMES, game_names, get_game, register_game, unregister_game

__all__ = [
    "ArrayGame",
    "Capabilities",
    "GAME_NAMES",
    "Game",
    "GameDefinitionError",
    "GameError",
    "IllegalMoveError",
    "InvalidPositionError",
    "PackedGame",
    "capabilities",
    "check_game",
    "game_names",
    "get_game",
    "is_array_game",
    "legal_actions",
    "random_opening",
    "random_states",
    "register_game",
    "unregister_game",
]
