"""``RolloutAgent``: MCTS with uniform priors whose leaf value is one random playout.

The playouts run in a Numba kernel for the array games (tic-tac-toe, Connect Four), which
reads each leaf's bitboards back from its observation, and in Python for chess and any other
game, through ``_HandleGame``: observations that are handles to the leaf states themselves.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numba import njit

from alphazero.eval.search_agent import SearchAgent
from games import connect4 as c4
from games import get_game, is_array_game
from games import tictactoe as ttt
from games.base import Game
from search import SearchParams

CHESS_PLAYOUT_PLIES = 300
"""A random chess playout that has not ended after this many plies counts as a draw."""

_KIND_CONNECT4, _KIND_TICTACTOE = 0, 1
_NUMBA_PLAYOUTS = {"connect4": _KIND_CONNECT4, "tictactoe": _KIND_TICTACTOE}
"""The array games whose bitboards ``rollout_values`` decodes and plays out in Numba."""


@njit(cache=True)
def _decode_state(obs, kind, state):
    """Bitboard state ``[current, mask, moves]`` of an array game from its observation."""
    current = np.int64(0)
    mask = np.int64(0)
    if kind == _KIND_CONNECT4:
        for col in range(c4.WIDTH):
            for row in range(c4.HEIGHT):
                bit = np.int64(1) << (col * (c4.HEIGHT + 1) + row)
                if obs[0, c4.HEIGHT - 1 - row, col] > 0.5:
                    current |= bit
                    mask |= bit
                elif obs[1, c4.HEIGHT - 1 - row, col] > 0.5:
                    mask |= bit
    else:
        for cell in range(9):
            bit = np.int64(1) << cell
            if obs[0, cell // 3, cell % 3] > 0.5:
                current |= bit
                mask |= bit
            elif obs[1, cell // 3, cell % 3] > 0.5:
                mask |= bit
    stones = 0
    bits = mask
    while bits:
        bits &= bits - 1
        stones += 1
    state[0] = current
    state[1] = mask
    state[2] = stones


@njit(cache=True)
def rollout_values(observations, kind, seed, out):
    """One uniformly random playout from each observed position to the end of the game.

    ``observations``: float32[M, 3, H, W] of Connect Four (kind 0) or tic-tac-toe (kind 1);
    ``out``: float32[M], the playout's result (+1 win, 0 draw, -1 loss) for the side to move.
    """
    np.random.seed(seed)
    state = np.zeros(3, dtype=np.int64)
    nxt = np.zeros(3, dtype=np.int64)
    moves = np.zeros(9, dtype=np.int64)
    for i in range(observations.shape[0]):
        _decode_state(observations[i], kind, state)
        sign = 1.0
        while True:
            if kind == _KIND_CONNECT4:
                if c4.is_terminal_nb(state):
                    break
                count = 0
                for col in range(c4.WIDTH):
                    if c4.can_play(state, col):
                        moves[count] = col
                        count += 1
                c4.apply_nb(state, moves[np.random.randint(count)], nxt)
            else:
                if ttt.is_terminal_nb(state):
                    break
                count = 0
                for cell in range(9):
                    if (state[1] >> cell) & 1 == 0:
                        moves[count] = cell
                        count += 1
                ttt.apply_nb(state, moves[np.random.randint(count)], nxt)
            state[:] = nxt
            sign = -sign
        # The side to move at the end has lost if the previous mover connected.
        lost = c4.aligned(state[0] ^ state[1]) if kind == _KIND_CONNECT4 else \
            ttt.aligned(state[0] ^ state[1])
        out[i] = -sign if lost else 0.0


class _HandleGame:
    """A Python-state game seen through observations that are handles (``float32[1, 1, 1]``
    holding an index) to the states themselves, so a playout evaluator gets the exact leaf
    states from ``BatchedMCTS`` without decoding anything."""

    observation_shape = (1, 1, 1)

    def __init__(self, game: Game) -> None:
        self.inner = game
        self.name = game.name
        self.num_actions = game.num_actions
        self.pending: list[Any] = []  # states behind the handles of the next evaluation

    def describe(self, state: Any) -> tuple[np.ndarray, np.ndarray, bool, float]:
        legal = self.inner.legal_mask(state)  # all False when the game is over
        terminal = not legal.any()
        value = float(self.inner.terminal_value(state)) if terminal else 0.0
        obs = np.full((1, 1, 1), len(self.pending), dtype=np.float32)
        self.pending.append(state)
        return obs, legal, terminal, value

    def apply(self, state: Any, action: int) -> Any:
        return self.inner.apply(state, action)

    def legal_mask(self, state: Any) -> np.ndarray:
        return self.inner.legal_mask(state)


def _chess_playout(board: Any, rng: np.random.Generator, max_plies: int) -> float:
    """Random chess moves from ``board`` (python-chess); result for its side to move."""
    board = board.copy(stack=False)
    sign = 1.0
    for _ in range(max_plies):
        moves = list(board.legal_moves)
        if not moves:
            return -sign if board.is_check() else 0.0
        if board.halfmove_clock >= 100 or board.is_insufficient_material():
            return 0.0
        board.push(moves[int(rng.integers(len(moves)))])
        sign = -sign
    return 0.0


class RolloutAgent:
    """MCTS with ``simulations`` per move, uniform priors, and one random playout per leaf.

    PUCT selection (``params`` other than arm and simulations may be given); the leaf value is
    the result of a single uniformly random playout to the end of the game (chess: at most
    ``CHESS_PLAYOUT_PLIES`` plies, then a draw). Playouts run in Numba for tic-tac-toe and
    Connect Four, and in Python for chess (milliseconds each) and any other game.
    """

    def __init__(self, game: Game | str, simulations: int, *, seed: int = 0,
                 params: SearchParams | None = None, name: str | None = None) -> None:
        if simulations < 1:
            raise ValueError(f"a rollout agent needs >= 1 simulation per move, not {simulations}")
        self.game = get_game(game) if isinstance(game, str) else game
        self.simulations = simulations
        self.name = name or f"rollout:{simulations}"
        params = params or SearchParams()
        self.params = dataclasses.replace(params, arm="puct", simulations=simulations)
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        self._rng = np.random.default_rng(self._seed)
        if is_array_game(self.game) and self.game.name in _NUMBA_PLAYOUTS:
            search_game: Any = self.game
            evaluate = self._array_evaluate
        else:
            search_game = self._handles = _HandleGame(self.game)
            evaluate = self._python_evaluate
        self._agent = SearchAgent(search_game, evaluate, self.params, name=self.name,
                                  seed=self._seed, cache_size=0)  # playouts are random draws

    def _array_evaluate(self, observations: np.ndarray, legal: np.ndarray):
        kind = _NUMBA_PLAYOUTS[self.game.name]
        values = np.zeros(observations.shape[0], dtype=np.float32)
        rollout_values(observations, kind, int(self._rng.integers(2**31)), values)
        return np.zeros(legal.shape, dtype=np.float32), values

    def _python_evaluate(self, observations: np.ndarray, legal: np.ndarray):
        handles = self._handles
        values = np.zeros(observations.shape[0], dtype=np.float32)
        for i, handle in enumerate(observations[:, 0, 0, 0].astype(np.int64)):
            state = handles.pending[handle]
            if self.game.name == "chess":
                values[i] = _chess_playout(state, self._rng, CHESS_PLAYOUT_PLIES)
            else:
                values[i] = _protocol_playout(self.game, state, self._rng)
        handles.pending.clear()
        return np.zeros(legal.shape, dtype=np.float32), values

    def select_moves(self, states: list) -> list[int]:
        return self._agent.select_moves(states)


def _protocol_playout(game: Game, state: Any, rng: np.random.Generator) -> float:
    sign = 1.0
    while not game.is_terminal(state):
        state = game.apply(state, int(rng.choice(np.flatnonzero(game.legal_mask(state)))))
        sign = -sign
    return sign * game.terminal_value(state)
