"""A perfect Connect Four solver: negamax with alpha-beta on bitboards.

Positions use the bitboard layout shared with ``games/connect4.py``: 7 columns
of 6 rows, bit ``column * 7 + row`` (row 0 at the bottom) and one always-empty
sentinel bit on top of each column. A position is ``(current, mask, moves)``:
the stones of the side to move, all stones, and the number of stones played.

Scores are from the side to move's point of view: 0 is a draw, a win is
``22 - (stones the winner has placed when it connects four)``, a loss is the
negative. If the side to move can win with its next stone, the score is
``(43 - moves) // 2``.

The search is negamax with alpha-beta pruning, a transposition table of bounds,
moves ordered by the threats they create (centre columns first on ties), only
non-losing moves searched, and the exact score found by a sequence of
null-window searches that narrow the score interval.

>>> solve("121212")
18
>>> analyse("121212")[1]
18
"""

from __future__ import annotations

import numba
import numpy as np

from games.base import InvalidPositionError

__all__ = [
    "WIDTH",
    "HEIGHT",
    "Position",
    "Connect4Solver",
    "parse_moves",
    "validate_position",
    "is_won",
    "has_four",
    "solve",
    "analyse",
]

WIDTH = 7
HEIGHT = 6
NUM_CELLS = WIDTH * HEIGHT
_STRIDE = HEIGHT + 1  # bits per column, sentinel included
_COLUMN_BITS = (1 << HEIGHT) - 1
BOTTOM_MASK = sum(1 << (column * _STRIDE) for column in range(WIDTH))
BOARD_MASK = BOTTOM_MASK * _COLUMN_BITS
DEFAULT_TABLE_SIZE = 8_388_593  # the largest prime below 2**23

# Transposition-table values (int8): 0 = empty slot, an upper bound u is stored
# as u + _UPPER_OFFSET (1..63), a lower bound l as l + _LOWER_OFFSET (65..127).
# Scores of searched positions lie in [-21, 21], so the two ranges never meet.
_UPPER_OFFSET = 32
_LOWER_OFFSET = 96
_KEY_BITS = 0xFFFFFFFF

Position = tuple[int, int, int]


# ----------------------------------------------------------------------------
# Bitboard kernels.
# ----------------------------------------------------------------------------


@numba.njit(cache=True)
def _popcount(bits: int) -> int:
    count = 0
    while bits:
        bits &= bits - 1
        count += 1
    return count


@numba.njit(cache=True)
def has_four(stones: int) -> bool:
    """True if the bitboard ``stones`` contains four in a row in any direction."""
    for shift in (1, _STRIDE - 1, _STRIDE, _STRIDE + 1):  # vertical, diagonals, horizontal
        pairs = stones & (stones >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


@numba.njit(cache=True)
def _completions(stones: int, shift: int) -> int:
    """Cells that would complete four of ``stones`` along the line of step ``shift``."""
    # The empty cell may be at any of the four places in the line: three
    # stones on one side, or two on one side and one on the other.
    up2 = (stones << shift) & (stones << (2 * shift))
    down2 = (stones >> shift) & (stones >> (2 * shift))
    return (
        (up2 & (stones << (3 * shift)))
        | (up2 & (stones >> shift))
        | (down2 & (stones << shift))
        | (down2 & (stones >> (3 * shift)))
    )


@numba.njit(cache=True)
def _winning_cells(stones: int, mask: int) -> int:
    """Empty cells (playable or not) where one more stone of ``stones`` connects four."""
    vertical = (stones << 1) & (stones << 2) & (stones << 3)
    cells = (
        vertical
        | _completions(stones, _STRIDE)
        | _completions(stones, _STRIDE - 1)
        | _completions(stones, _STRIDE + 1)
    )
    return cells & (BOARD_MASK ^ mask)


@numba.njit(cache=True)
def _playable(mask: int) -> int:
    """The lowest empty cell of every column that is not full."""
    return (mask + BOTTOM_MASK) & BOARD_MASK


# ----------------------------------------------------------------------------
# Search kernels.
# ----------------------------------------------------------------------------


@numba.njit(cache=True)
def _negamax(current, mask, moves, alpha, beta, keys, values, move_buf, score_buf, counter):
    """Score of a position, or a bound on it outside the window (alpha, beta).

    Precondition: the side to move cannot win with its next stone. Returns a
    value v with: v <= alpha => score <= v; v >= beta => score >= v; otherwise
    v is the exact score. ``move_buf``/``score_buf`` are int64[43, 7] scratch
    rows, one per ply; ``counter`` is int64[1] counting visited nodes.
    """
    counter[0] += 1
    opponent_wins = _winning_cells(current ^ mask, mask)
    candidates = _playable(mask)
    forced = candidates & opponent_wins
    if forced:
        if forced & (forced - 1):  # two threats to block: the opponent wins next move
            return -((NUM_CELLS - moves) // 2)
        candidates = forced
    candidates &= ~(opponent_wins >> 1)  # never play just below an opponent's winning cell
    if candidates == 0:
        return -((NUM_CELLS - moves) // 2)
    if moves >= NUM_CELLS - 2:  # neither side can connect four with its last stone
        return 0

    # The opponent cannot win on its next stone, so we lose at the earliest later.
    lower = -((NUM_CELLS - 2 - moves) // 2)
    if alpha < lower:
        alpha = lower
        if alpha >= beta:
            return alpha
    upper = (NUM_CELLS - 1 - moves) // 2  # we cannot win on the next stone
    key = current + mask  # unique per position; the table keeps its low 32 bits
    slot = key % keys.shape[0]  # prime size: slot and low bits identify the key
    if keys[slot] == (key & _KEY_BITS) and values[slot] != 0:
        stored = np.int64(values[slot])
        if stored > _LOWER_OFFSET - _UPPER_OFFSET:
            if alpha < stored - _LOWER_OFFSET:
                alpha = stored - _LOWER_OFFSET
                if alpha >= beta:
                    return alpha
        else:
            upper = min(upper, stored - _UPPER_OFFSET)
    if beta > upper:
        beta = upper
        if alpha >= beta:
            return beta

    # Order the moves: more threats created first, centre columns first on ties.
    count = 0
    for i in range(WIDTH):
        column = 3 + (1 - 2 * (i % 2)) * ((i + 1) // 2)  # 3, 2, 4, 1, 5, 0, 6
        move = candidates & (_COLUMN_BITS << (column * _STRIDE))
        if move == 0:
            continue
        threats = _popcount(_winning_cells(current | move, mask | move))
        j = count
        while j > 0 and score_buf[moves, j - 1] < threats:
            move_buf[moves, j] = move_buf[moves, j - 1]
            score_buf[moves, j] = score_buf[moves, j - 1]
            j -= 1
        move_buf[moves, j] = move
        score_buf[moves, j] = threats
        count += 1

    for j in range(count):
        move = move_buf[moves, j]
        score = -_negamax(
            current ^ mask, mask | move, moves + 1, -beta, -alpha,
            keys, values, move_buf, score_buf, counter,
        )
        if score >= beta:
            keys[slot] = key & _KEY_BITS
            values[slot] = score + _LOWER_OFFSET
            return score
        if score > alpha:
            alpha = score
    keys[slot] = key & _KEY_BITS
    values[slot] = alpha + _UPPER_OFFSET
    return alpha


@numba.njit(cache=True)
def _half_toward_zero(value: int) -> int:
    return value // 2 if value >= 0 else -((-value) // 2)


@numba.njit(cache=True)
def _solve_kernel(current, mask, moves, keys, values, move_buf, score_buf, counter):
    """Exact score of a position that is not over (see ``Connect4Solver.solve``)."""
    if _winning_cells(current, mask) & _playable(mask):
        return (NUM_CELLS + 1 - moves) // 2
    if moves >= NUM_CELLS:
        return 0
    low = -((NUM_CELLS - moves) // 2)
    high = (NUM_CELLS + 1 - moves) // 2
    while low < high:
        # Null-window test at the middle of [low, high], pulled towards zero
        # so that the cheap tests near the draw score come first.
        probe = low + (high - low) // 2
        if probe <= 0 and _half_toward_zero(low) < probe:
            probe = _half_toward_zero(low)
        elif probe >= 0 and _half_toward_zero(high) > probe:
            probe = _half_toward_zero(high)
        result = _negamax(
            current, mask, moves, probe, probe + 1, keys, values, move_buf, score_buf, counter
        )
        if result <= probe:
            high = result
        else:
            low = result
    return low


# ----------------------------------------------------------------------------
# Positions.
# ----------------------------------------------------------------------------


def _bit_count(bits: int) -> int:
    return bin(bits).count("1")


def parse_moves(text: str) -> Position:
    """The position ``(current, mask, moves)`` after a sequence of column digits.

    ``text`` lists columns '1'..'7' played alternately from the empty board,
    e.g. ``"4453"``; surrounding whitespace is ignored. The last move may end
    the game (see ``is_won``), but no move may follow a win.

    Raises:
      InvalidPositionError: a character that is not a digit 1-7, a move into a
        full column, or a move after the game was already won.
    """
    current, mask = 0, 0
    for index, char in enumerate(text.strip()):
        where = f"move {index + 1} of {text.strip()!r}"
        if not char.isdigit():
            raise InvalidPositionError(f"{where}: {char!r} is not a column digit 1-7")
        column = int(char) - 1
        if not 0 <= column < WIDTH:
            raise InvalidPositionError(f"{where}: column {char} is outside 1-{WIDTH}")
        if has_four(current ^ mask):
            raise InvalidPositionError(f"{where}: the game was already won by the previous move")
        move = (mask + (1 << (column * _STRIDE))) & (_COLUMN_BITS << (column * _STRIDE))
        if move == 0:
            raise InvalidPositionError(f"{where}: column {char} is full")
        current ^= mask  # the side to move becomes the opponent
        mask |= move
    return current, mask, _bit_count(mask)


def validate_position(position: Position) -> Position:
    """Check that ``(current, mask, moves)`` is a consistent bitboard position.

    Returns the position as plain ints. Raises InvalidPositionError naming the
    first problem (stones off the board, floating stones, wrong stone counts).
    Does not check whether the game is over; see ``is_won``.
    """
    try:
        current, mask, moves = (int(value) for value in position)
    except (TypeError, ValueError) as error:
        raise InvalidPositionError(
            f"a position is a move string or a (current, mask, moves) tuple, got {position!r}"
        ) from error
    if mask & ~BOARD_MASK or mask < 0:
        raise InvalidPositionError(f"mask {mask:#x} has bits outside the 7x6 board")
    if current & ~mask or current < 0:
        raise InvalidPositionError("current has stones where mask has none")
    if (mask + BOTTOM_MASK) & mask:
        raise InvalidPositionError("mask has a stone above an empty cell")
    if _bit_count(mask) != moves:
        raise InvalidPositionError(f"moves={moves} but the mask holds {_bit_count(mask)} stones")
    if _bit_count(current) != moves // 2:
        raise InvalidPositionError(
            f"the side to move should have {moves // 2} stones after {moves} moves, "
            f"has {_bit_count(current)}"
        )
    return current, mask, moves


def is_won(position: Position) -> bool:
    """True if the player who just moved has connected four (the game is over)."""
    current, mask, _ = position
    return bool(has_four(int(current) ^ int(mask)))


def _to_position(position: str | Position) -> Position:
    if isinstance(position, str):
        return parse_moves(position)
    return validate_position(position)


# ----------------------------------------------------------------------------
# Public solver.
# ----------------------------------------------------------------------------


class Connect4Solver:
    """A perfect solver whose transposition table is kept across calls.

    Stored bounds stay valid for any later position (the key identifies the
    position exactly), so solving many related positions gets faster.

    Attributes:
      node_count: negamax nodes visited by the last ``solve`` or ``analyse``.
    """

    def __init__(self, *, table_size: int = DEFAULT_TABLE_SIZE) -> None:
        """``table_size`` slots (a prime > 2**17; 5 bytes each)."""
        if table_size <= 1 << 17:
            raise ValueError(f"table_size must exceed 2**17 so 32-bit keys suffice, got {table_size}")
        self._keys = np.zeros(table_size, dtype=np.uint32)  # [table_size] low key bits
        self._values = np.zeros(table_size, dtype=np.int8)  # [table_size] encoded bound
        self._move_buf = np.zeros((NUM_CELLS + 1, WIDTH), dtype=np.int64)  # [ply, move]
        self._score_buf = np.zeros((NUM_CELLS + 1, WIDTH), dtype=np.int64)
        self._counter = np.zeros(1, dtype=np.int64)
        self.node_count = 0

    def reset(self) -> None:
        """Forget every stored bound."""
        self._keys.fill(0)
        self._values.fill(0)

    def _search(self, current: int, mask: int, moves: int) -> int:
        return int(
            _solve_kernel(
                current, mask, moves, self._keys, self._values,
                self._move_buf, self._score_buf, self._counter,
            )
        )

    def solve(self, position: str | Position) -> int:
        """Exact score of ``position`` (a move string or ``(current, mask, moves)``).

        Raises InvalidPositionError for malformed positions and for positions
        where a player has already connected four. A full board scores 0.
        """
        current, mask, moves = _to_position(position)
        if is_won((current, mask, moves)):
            raise InvalidPositionError("the game is already over: the last move connected four")
        self._counter[0] = 0
        score = self._search(current, mask, moves)
        self.node_count = int(self._counter[0])
        return score

    def analyse(self, position: str | Position) -> dict[int, int | None]:
        """Exact score of each column 1..7 for the side that plays it, None if full.

        ``max(score for score in result.values() if score is not None)`` equals
        ``solve(position)``. A move that wins at once scores ``(43 - moves) // 2``.
        """
        current, mask, moves = _to_position(position)
        if is_won((current, mask, moves)):
            raise InvalidPositionError("the game is already over: the last move connected four")
        self._counter[0] = 0
        playable = _playable(mask)
        scores: dict[int, int | None] = {}
        for column in range(WIDTH):
            move = playable & (_COLUMN_BITS << (column * _STRIDE))
            if move == 0:
                scores[column + 1] = None
            elif has_four(current | move):
                scores[column + 1] = (NUM_CELLS + 1 - moves) // 2
            else:
                scores[column + 1] = -self._search(current ^ mask, mask | move, moves + 1)
        self.node_count = int(self._counter[0])
        return scores


_DEFAULT_SOLVER: Connect4Solver | None = None


def _default_solver() -> Connect4Solver:
    global _DEFAULT_SOLVER
    if _DEFAULT_SOLVER is None:
        _DEFAULT_SOLVER = Connect4Solver()
    return _DEFAULT_SOLVER


def solve(moves: str) -> int:
    """Exact score of the position after ``moves`` (column digits), side to move's view."""
    return _default_solver().solve(moves)


def analyse(moves: str) -> dict[int, int | None]:
    """Exact score of each column 1..7 after ``moves`` (None for a full column)."""
    return _default_solver().analyse(moves)
