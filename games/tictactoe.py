"""Tic-tac-toe on 9-bit boards with Numba rules.

State: ``int64[3] = [current, mask, moves]`` as in Connect Four: ``current`` the
stones of the side to move, ``mask`` all stones. Cell ``i`` (0..8, row-major from
the top left) is bit ``i``; actions are cells 0..8, people write them 1..9.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from games.base import IllegalMoveError, InvalidPositionError

STATE_SIZE = 3
NUM_ACTIONS = 9
OBSERVATION_SHAPE = (3, 3, 3)
LINES = np.array(
    [0b000000111, 0b000111000, 0b111000000, 0b001001001, 0b010010010, 0b100100100,
     0b100010001, 0b001010100],
    dtype=np.int64,
)
# The 8 symmetries of the square as cell permutations: new_cell[i] = old_cell[perm[i]].
_GRID = np.arange(9).reshape(3, 3)
SYMMETRY_PERMUTATIONS = np.array(
    [np.rot90(g, k).ravel() for g in (_GRID, _GRID.T) for k in range(4)], dtype=np.int64
)


@njit(cache=True)
def aligned(stones):
    for line in LINES:
        if stones & line == line:
            return True
    return False


@njit(cache=True)
def is_terminal_nb(state):
    return state[2] >= 9 or aligned(state[0] ^ state[1])


@njit(cache=True)
def apply_nb(state, cell, out):
    out[0] = state[0] ^ state[1]
    out[1] = state[1] | (np.int64(1) << cell)
    out[2] = state[2] + 1


@njit(cache=True)
def describe_nb(state, obs, legal, terminal_value):
    """Fill obs float32[3,3,3] (own, opponent, ones) and legal bool[9]; return terminal."""
    current = state[0]
    opponent = state[0] ^ state[1]
    for cell in range(9):
        bit = np.int64(1) << cell
        obs[0, cell // 3, cell % 3] = 1.0 if current & bit else 0.0
        obs[1, cell // 3, cell % 3] = 1.0 if opponent & bit else 0.0
        obs[2, cell // 3, cell % 3] = 1.0
    lost = aligned(opponent)
    terminal = lost or state[2] >= 9
    for cell in range(9):
        legal[cell] = (not terminal) and (state[1] & (np.int64(1) << cell)) == 0
    terminal_value[0] = -1.0 if lost else 0.0
    return terminal


@njit(cache=True)
def step_leaves(states, leaf_tree, leaf_parent, leaf_action, leaf_node, out_obs, out_legal,
                out_terminal, out_value):
    """Search kernel: ``states[b, node] = apply(states[b, parent], action)`` for each leaf,
    then describe the new state (observation, legal mask, terminal flag and value)."""
    value = np.zeros(1, dtype=np.float32)
    for i in range(leaf_tree.shape[0]):
        b = leaf_tree[i]
        apply_nb(states[b, leaf_parent[i]], leaf_action[i], states[b, leaf_node[i]])
        out_terminal[i] = describe_nb(states[b, leaf_node[i]], out_obs[i], out_legal[i], value)
        out_value[i] = value[0]


@njit(cache=True)
def describe_batch(states, out_obs, out_legal, out_terminal, out_value):
    value = np.zeros(1, dtype=np.float32)
    for i in range(states.shape[0]):
        out_terminal[i] = describe_nb(states[i], out_obs[i], out_legal[i], value)
        out_value[i] = value[0]


class TicTacToe:
    """Tic-tac-toe behind the game protocol (see games/base.py)."""

    name = "tictactoe"
    num_actions = NUM_ACTIONS
    observation_shape = OBSERVATION_SHAPE
    state_size = STATE_SIZE
    step_leaves = staticmethod(step_leaves)
    describe_batch = staticmethod(describe_batch)
    move_notation = "a cell digit 1-9, row by row from the top left"
    position_notation = "the cells 1-9 played in order from the empty board"
    default_opening_plies = 1

    def initial_state(self) -> np.ndarray:
        return np.zeros(STATE_SIZE, dtype=np.int64)

    def legal_mask(self, state: np.ndarray) -> np.ndarray:
        if is_terminal_nb(state):
            return np.zeros(9, dtype=bool)
        return np.array([not (int(state[1]) >> c) & 1 for c in range(9)], dtype=bool)

    def apply(self, state: np.ndarray, action: int) -> np.ndarray:
        if not 0 <= action < 9 or not self.legal_mask(state)[action]:
            raise IllegalMoveError(f"cell {action + 1} is not playable in this position")
        out = np.empty_like(state)
        apply_nb(state, action, out)
        return out

    def is_terminal(self, state: np.ndarray) -> bool:
        return bool(is_terminal_nb(state))

    def terminal_value(self, state: np.ndarray) -> float:
        return -1.0 if aligned(state[0] ^ state[1]) else 0.0

    def to_play(self, state: np.ndarray) -> int:
        return int(state[2] % 2)

    def encode(self, state: np.ndarray) -> np.ndarray:
        obs = np.zeros(OBSERVATION_SHAPE, dtype=np.float32)
        describe_nb(state, obs, np.zeros(9, dtype=np.bool_), np.zeros(1, np.float32))
        return obs

    def symmetries(self, observation, policy):
        out = []
        for perm in SYMMETRY_PERMUTATIONS:
            obs = observation.reshape(observation.shape[0], 9)[:, perm].reshape(observation.shape)
            out.append((obs, policy[perm]))
        return out

    def parse_move(self, state: np.ndarray, text: str) -> int:
        text = text.strip()
        if not (len(text) == 1 and text in "123456789"):
            raise IllegalMoveError(f"{text!r} is not a cell: type a digit from 1 to 9")
        if self.is_terminal(state):
            raise IllegalMoveError("the game is over")
        cell = int(text) - 1
        if (int(state[1]) >> cell) & 1:
            raise IllegalMoveError(f"cell {text} is taken")
        return cell

    def format_move(self, state: np.ndarray, action: int) -> str:
        return str(action + 1)

    def parse_position(self, text: str) -> np.ndarray:
        """A state from the cells 1-9 played in order from the empty board ("5193")."""
        text = text.strip()
        state = self.initial_state()
        for i, ch in enumerate(text):
            if ch not in "123456789":
                raise InvalidPositionError(f"character {ch!r} at index {i} is not a cell digit 1-9")
            if is_terminal_nb(state):
                raise InvalidPositionError(f"move {i + 1} ({ch}) is played after the game ended")
            cell = int(ch) - 1
            if (int(state[1]) >> cell) & 1:
                raise InvalidPositionError(f"move {i + 1} ({ch}) is played on a taken cell")
            nxt = np.empty_like(state)
            apply_nb(state, cell, nxt)
            state = nxt
        return state

    def render(self, state: np.ndarray) -> str:
        first = state[0] if state[2] % 2 == 0 else state[0] ^ state[1]
        rows = []
        for r in range(3):
            cells = []
            for c in range(3):
                bit = 1 << (3 * r + c)
                if not state[1] & bit:
                    cells.append(str(3 * r + c + 1))
                else:
                    cells.append("X" if first & bit else "O")
            rows.append(" " + " | ".join(cells))
        return "\n---+---+---\n".join(rows)


def perfect_values(state: np.ndarray, memo: dict | None = None) -> float:
    """Minimax value of a tic-tac-toe state for the side to move (the perfect solver)."""
    memo = {} if memo is None else memo
    key = (int(state[0]), int(state[1]))
    if key in memo:
        return memo[key]
    if is_terminal_nb(state):
        value = -1.0 if aligned(state[0] ^ state[1]) else 0.0
    else:
        value = -1.0
        child = np.empty_like(state)
        for cell in range(9):
            if not (int(state[1]) >> cell) & 1:
                apply_nb(state, cell, child)
                value = max(value, -perfect_values(child.copy(), memo))
    memo[key] = value
    return value


GAME = TicTacToe()
