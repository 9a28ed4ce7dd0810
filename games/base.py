"""The small protocol every game implements, and the errors it raises.

A game is a stateless object: states are values (small integer arrays for the
array games, ``chess.Board`` for chess) and ``apply`` returns a new state.
Values are always from the point of view of the side to move, in [-1, 1].
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


class GameError(ValueError):
    """Base class for bad input given to a game."""


class IllegalMoveError(GameError):
    """A move that is malformed or not legal in the position."""


class InvalidPositionError(GameError):
    """A position text that cannot be parsed or describes an impossible position."""


@runtime_checkable
class Game(Protocol):
    """What the search, the trainer and the CLI need from a game.

    Attributes:
      name: short name used in configs and on the command line.
      num_actions: size of the policy vector.
      observation_shape: (C, H, W) of ``encode``'s output.
    """

    name: str
    num_actions: int
    observation_shape: tuple[int, int, int]

    def initial_state(self) -> Any: ...

    def legal_mask(self, state: Any) -> np.ndarray:
        """bool[num_actions], True for legal moves (all False when terminal)."""
        ...

    def apply(self, state: Any, action: int) -> Any:
        """The state after ``action``; the argument is not modified."""
        ...

    def is_terminal(self, state: Any) -> bool: ...

    def terminal_value(self, state: Any) -> float:
        """Outcome of a terminal state from the side to move: -1, 0 or 1."""
        ...

    def to_play(self, state: Any) -> int:
        """0 when the first player (White, X, Connect Four's first) is to move, else 1."""
        ...

    def encode(self, state: Any) -> np.ndarray:
        """float32[C, H, W] from the side to move's point of view."""
        ...

    def symmetries(
        self, observation: np.ndarray, policy: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Equivalent (observation, policy) pairs, the identity first."""
        ...

    def parse_move(self, state: Any, text: str) -> int:
        """Action index of a move in the game's notation; raises IllegalMoveError."""
        ...

    def format_move(self, state: Any, action: int) -> str: ...

    def parse_position(self, text: str) -> Any:
        """A state from its text form; raises InvalidPositionError."""
        ...

    def render(self, state: Any) -> str:
        """A board drawing for people (several lines)."""
        ...


def legal_actions(game: Game, state: Any) -> np.ndarray:
    """int64[L] of the legal action indices, ascending."""
    return np.flatnonzero(game.legal_mask(state))


def random_opening(game: Game, plies: int, rng: np.random.Generator, *,
                   tries: int = 100) -> list[int]:
    """``plies`` uniformly random legal actions from the start that do not end the game."""
    for _ in range(tries):
        state, moves = game.initial_state(), []
        while len(moves) < plies and not game.is_terminal(state):
            action = int(rng.choice(legal_actions(game, state)))
            state, moves = game.apply(state, action), moves + [action]
        if not game.is_terminal(state):
            return moves
    raise ValueError(f"no {plies}-ply opening of {game.name} avoids ending the game")
