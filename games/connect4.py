"""Connect Four (7 columns x 6 rows) on bitboards with Numba rules.

State: ``int64[3] = [current, mask, moves]``. ``current`` holds the stones of the
side to move, ``mask`` all stones, ``moves`` the number of stones played. Bit
``column * 7 + row`` (row 0 at the bottom) is a cell; the seventh bit of every
column is a sentinel that stays empty, which lets ``mask + bottom`` find the
next free cell of a column. The same layout is used by the solver.

Actions are columns 0..6; people write them 1..7 (Pascal Pons' convention).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from games.base import IllegalMoveError, InvalidPositionError

WIDTH = 7
HEIGHT = 6
STATE_SIZE = 3
NUM_ACTIONS = WIDTH
OBSERVATION_SHAPE = (3, HEIGHT, WIDTH)

_BOTTOM = np.int64(sum(1 << (c * (HEIGHT + 1)) for c in range(WIDTH)))


@njit(cache=True, inline="always")
def _column_bottom(col):
    return np.int64(1) << (col * (HEIGHT + 1))


@njit(cache=True, inline="always")
def _column_top(col):
    return np.int64(1) << (HEIGHT - 1 + col * (HEIGHT + 1))


@njit(cache=True)
def aligned(stones):
    """True if the bitboard ``stones`` holds four in a row in any direction."""
    for shift in (1, HEIGHT + 1, HEIGHT, HEIGHT + 2):  # vertical, horizontal, two diagonals
        pairs = stones & (stones >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


@njit(cache=True)
def can_play(state, col):
    return (state[1] & _column_top(col)) == 0


@njit(cache=True)
def is_terminal_nb(state):
    return state[2] >= WIDTH * HEIGHT or aligned(state[0] ^ state[1])


@njit(cache=True)
def terminal_value_nb(state):
    """-1 when the previous mover connected four, else 0 (draw or not over)."""
    if aligned(state[0] ^ state[1]):
        return -1.0
    return 0.0


@njit(cache=True)
def apply_nb(state, col, out):
    """Write the state after dropping a stone in ``col`` into ``out``."""
    current = state[0]
    mask = state[1]
    new_mask = mask | (mask + _column_bottom(col))
    out[0] = current ^ mask  # the opponent becomes the side to move
    out[1] = new_mask
    out[2] = state[2] + 1


@njit(cache=True)
def describe_nb(state, obs, legal, terminal_value):
    """Fill one leaf's observation and legal mask; return whether it is terminal.

    ``obs``: float32[3, 6, 7] (own stones, opponent stones, ones), top row first.
    ``legal``: bool[7]. ``terminal_value``: float32[1], set when terminal.
    """
    current = state[0]
    opponent = state[0] ^ state[1]
    for col in range(WIDTH):
        for row in range(HEIGHT):
            bit = np.int64(1) << (col * (HEIGHT + 1) + row)
            obs[0, HEIGHT - 1 - row, col] = 1.0 if current & bit else 0.0
            obs[1, HEIGHT - 1 - row, col] = 1.0 if opponent & bit else 0.0
            obs[2, HEIGHT - 1 - row, col] = 1.0
    terminal = aligned(opponent) or state[2] >= WIDTH * HEIGHT
    for col in range(WIDTH):
        legal[col] = (not terminal) and (state[1] & _column_top(col)) == 0
    terminal_value[0] = -1.0 if aligned(opponent) else 0.0
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
    """Describe ``states[M, 3]`` (roots): observation, legal mask, terminal flag and value."""
    value = np.zeros(1, dtype=np.float32)
    for i in range(states.shape[0]):
        out_terminal[i] = describe_nb(states[i], out_obs[i], out_legal[i], value)
        out_value[i] = value[0]


class Connect4:
    """Connect Four behind the game protocol (see games/base.py)."""

    name = "connect4"
    num_actions = NUM_ACTIONS
    observation_shape = OBSERVATION_SHAPE
    state_size = STATE_SIZE
    step_leaves = staticmethod(step_leaves)
    describe_batch = staticmethod(describe_batch)
    move_notation = "a column digit 1-7"
    position_notation = "the columns 1-7 played in order from the empty board"
    default_opening_plies = 2

    def initial_state(self) -> np.ndarray:
        return np.zeros(STATE_SIZE, dtype=np.int64)

    def legal_mask(self, state: np.ndarray) -> np.ndarray:
        if is_terminal_nb(state):
            return np.zeros(WIDTH, dtype=bool)
        return np.array([can_play(state, c) for c in range(WIDTH)], dtype=bool)

    def apply(self, state: np.ndarray, action: int) -> np.ndarray:
        if not 0 <= action < WIDTH or not self.legal_mask(state)[action]:
            raise IllegalMoveError(f"column {action + 1} is not playable in this position")
        out = np.empty_like(state)
        apply_nb(state, action, out)
        return out

    def is_terminal(self, state: np.ndarray) -> bool:
        return bool(is_terminal_nb(state))

    def terminal_value(self, state: np.ndarray) -> float:
        return float(terminal_value_nb(state))

    def to_play(self, state: np.ndarray) -> int:
        return int(state[2] % 2)

    def encode(self, state: np.ndarray) -> np.ndarray:
        obs = np.zeros(OBSERVATION_SHAPE, dtype=np.float32)
        describe_nb(state, obs, np.zeros(WIDTH, dtype=np.bool_), np.zeros(1, np.float32))
        return obs

    def symmetries(self, observation, policy):
        return [(observation, policy), (observation[..., ::-1].copy(), policy[::-1].copy())]

    def parse_move(self, state: np.ndarray, text: str) -> int:
        text = text.strip()
        if not (len(text) == 1 and text in "1234567"):
            raise IllegalMoveError(f"{text!r} is not a column: type a digit from 1 to 7")
        action = int(text) - 1
        if self.is_terminal(state):
            raise IllegalMoveError("the game is over")
        if not can_play(state, action):
            raise IllegalMoveError(f"column {text} is full")
        return action

    def format_move(self, state: np.ndarray, action: int) -> str:
        return str(action + 1)

    def parse_position(self, text: str) -> np.ndarray:
        """A state from column digits 1-7 played from the empty board ("4453")."""
        text = text.strip()
        state = self.initial_state()
        for i, ch in enumerate(text):
            if ch not in "1234567":
                raise InvalidPositionError(
                    f"character {ch!r} at index {i} is not a column digit 1-7"
                )
            if is_terminal_nb(state):
                raise InvalidPositionError(f"move {i + 1} ({ch}) is played after the game ended")
            col = int(ch) - 1
            if not can_play(state, col):
                raise InvalidPositionError(f"move {i + 1} ({ch}) is played in a full column")
            nxt = np.empty_like(state)
            apply_nb(state, col, nxt)
            state = nxt
        return state

    def render(self, state: np.ndarray) -> str:
        first = state[0] if state[2] % 2 == 0 else state[0] ^ state[1]
        lines = []
        for row in range(HEIGHT - 1, -1, -1):
            cells = []
            for col in range(WIDTH):
                bit = 1 << (col * (HEIGHT + 1) + row)
                if not state[1] & bit:
                    cells.append(".")
                else:
                    cells.append("X" if first & bit else "O")
            lines.append("| " + " ".join(cells) + " |")
        lines.append("+" + "-" * (2 * WIDTH + 1) + "+")
        lines.append("  " + " ".join(str(c + 1) for c in range(WIDTH)))
        return "\n".join(lines)


GAME = Connect4()
