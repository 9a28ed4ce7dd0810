"""Perfect play, for the games that have it: one adapter over the exact solvers.

``ExactScores`` gives the game-theoretic score of a position or of each of its moves, for the
side to move: Connect Four's Pons scores from ``games.connect4_solver.Connect4Solver`` (a win
scores the more the sooner it comes, a loss the less the sooner), tic-tac-toe's win 1, draw 0,
loss -1 from ``games.tictactoe.perfect_values``. The solver agent, the labelled positions and
the ablation's balanced openings all read their exact values here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from games.base import Game
from games.connect4_solver import Connect4Solver
from games.tictactoe import perfect_values

SOLVED_GAMES = ("connect4", "tictactoe")


class ExactScores:
    """Exact scores of ``game``'s positions (``ValueError`` for a game without a solver).

    ``solver``: a ``Connect4Solver`` to share (its transposition table is the expensive part);
    by default one is made on first use. Tic-tac-toe values are memoised per instance.
    """

    def __init__(self, game: Game, *, solver: Connect4Solver | None = None) -> None:
        if game.name not in SOLVED_GAMES:
            raise ValueError(f"there is no solver for {game.name}: the solver plays "
                             "connect4 and tictactoe")
        self.game = game
        self._solver = solver
        self._memo: dict = {}

    @property
    def solver(self) -> Connect4Solver:
        if self._solver is None:
            self._solver = Connect4Solver()
        return self._solver

    def score(self, state: Any) -> int:
        """The exact score of ``state`` (not over) for its side to move."""
        if self.game.name == "connect4":
            return self.solver.solve(_position(state))
        return int(perfect_values(state, self._memo))

    def move_scores(self, state: Any) -> tuple[int | None, ...]:
        """The exact score of each action for the side to move (None: illegal), [A]."""
        if self.game.name == "connect4":
            scores = self.solver.analyse(_position(state))
            return tuple(scores[col + 1] for col in range(self.game.num_actions))
        out: list[int | None] = [None] * self.game.num_actions
        for a in np.flatnonzero(self.game.legal_mask(state)):
            out[a] = int(-perfect_values(self.game.apply(state, int(a)), self._memo))
        return tuple(out)


def _position(state: Any) -> tuple[int, int, int]:
    """A Connect Four state as the solver's ``(current, mask, moves)``."""
    return int(state[0]), int(state[1]), int(state[2])
