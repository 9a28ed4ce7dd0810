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

>>> solve("121212")  # the side to move connects four in column 1 with its 4th stone
18
>>> analyse("445566")  # columns 3 and 7 win at once; elsewhere X wins a move later
{1: 17, 2: 17, 3: 18, 4: 17, 5: 17, 6: 17, 7: 18}
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from games.base import InvalidPositionError

__all__ = [
    "HEIGHT",
    "WIDTH",
    "Connect4Solver",
    "Position",
    "analyse",
    "has_four",
    "is_won",
    "parse_moves",
    "solve",
    "validate_position",
]

WIDTH = 7
HEIGHT = 6
NUM_CELLS = WIDTH * HEIGHT
_STRIDE = HEIGHT + 1  # bits per column, sentinel included
_COLUMN_BITS = (1 << HEIGHT) - 1
BOTTOM_MASK = sum(1 << (column * _STRIDE) for column in range(WIDTH))
BOARD_MASK = BOTTOM_MASK * _COLUMN_BITS
DEFAULT_TABLE_BITS = 23  # 2**23 slots of 8 bytes: 64 MiB

# A transposition-table slot (int64) holds ``key << 8 | bound``: the whole
# position key (49 bits) and an encoded bound, 0 for an empty slot. An upper
# bound u is encoded as u + _UPPER_OFFSET (1..63), a lower bound l as
# l + _LOWER_OFFSET (65..127); searched scores lie in [-21, 21].
_UPPER_OFFSET = 32
_LOWER_OFFSET = 96
_HASH_MULTIPLIER = -7046029254386353131  # 0x9E3779B97F4A7C15 as int64 (Fibonacci hashing)

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
    for shift in (1, _STRIDE - 1, _STRIDE, _STRIDE + 1):  # vertical, diagonal, horizontal, diagonal
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
def _non_losing_moves(current: int, mask: int) -> int:
    """Playable cells that do not hand the opponent an immediate win (0 if none).

    Precondition: the side to move cannot win with its next stone.
    """
    opponent_wins = _winning_cells(current ^ mask, mask)
    candidates = _playable(mask)
    forced = candidates & opponent_wins
    if forced:
        if forced & (forced - 1):  # two threats to block: the opponent wins next move
            return 0
        candidates = forced
    return candidates & ~(opponent_wins >> 1)  # never play just below an opponent's win


@numba.njit(cache=True)
def _ordered_columns(current: int, mask: int, candidates: int) -> int:
    """The columns of ``candidates``, best first, packed 4 bits each above a 4-bit count.

    Moves creating more winning cells come first; ties keep the centre-first
    order 3, 2, 4, 1, 5, 0, 6. Packing keeps the sort in registers.
    """
    columns = 0  # 4 bits per entry
    threats = 0  # 8 bits per entry, same order
    count = 0
    for i in range(WIDTH):
        column = 3 + (1 - 2 * (i % 2)) * ((i + 1) // 2)  # 3, 2, 4, 1, 5, 0, 6
        move = candidates & (_COLUMN_BITS << (column * _STRIDE))
        if move == 0:
            continue
        score = _popcount(_winning_cells(current | move, mask | move))
        place = 0
        while place < count and (threats >> (8 * place)) & 0xFF >= score:
            place += 1
        below4 = (1 << (4 * place)) - 1
        below8 = (1 << (8 * place)) - 1
        columns = (columns & below4) | ((columns & ~below4) << 4) | (column << (4 * place))
        threats = (threats & below8) | ((threats & ~below8) << 8) | (score << (8 * place))
        count += 1
    return (columns << 4) | count


# One row of ``frames`` (int64[43, _FRAME_WIDTH]) per node on the search path,
# indexed by the number of stones on the board.
_F_CURRENT, _F_MASK, _F_ALPHA, _F_BETA, _F_KEY, _F_ORDER, _F_NEXT = range(7)
_FRAME_WIDTH = 7
_OPEN = 1000  # "this node has children to search"; outside every score range
ABORTED = 2000
"""What the kernels return when their node budget ran out first (outside every score range).
The table keeps only bounds of finished nodes, so a search repeated after an abort is exact
and starts from what the aborted one proved."""


@numba.njit(cache=True)
def _slot(key: int, table_bits: int) -> int:
    """Table index of a position key: the top bits of a multiplicative hash."""
    return ((key * _HASH_MULTIPLIER) >> (64 - table_bits)) & ((1 << table_bits) - 1)


@intrinsic
def _prefetch(typingctx, array, index):
    """Hint the CPU to load array[index] into cache (llvm.prefetch; no effect on results)."""
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, array_type, ary, [args[1]])
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(cache=True)
def _negamax(current, mask, moves, alpha, beta, table, table_bits, frames, counter, limit):
    """Score of a position, or a bound on it outside the window (alpha, beta).

    Precondition: the side to move cannot win with its next stone. Returns v
    with: v <= alpha => score <= v; v >= beta => score >= v; otherwise v is
    the exact score. Depth-first with an explicit stack (``frames``) rather
    than recursion, whose calls would pay array reference counting at every
    node. ``counter`` (int64[1]) accumulates visited nodes; past ``limit`` of
    them (counted from the counter's value on entry) it returns ABORTED.
    """
    root = moves
    nodes = 0
    budget = limit - counter[0]
    while True:
        # Open the node (current, mask, moves) with window (alpha, beta).
        nodes += 1
        if nodes > budget:
            counter[0] += nodes
            return ABORTED
        value = _OPEN
        candidates = _non_losing_moves(current, mask)
        if candidates == 0:
            value = -((NUM_CELLS - moves) // 2)  # the opponent wins next move
        elif moves >= NUM_CELLS - 2:
            value = 0  # neither side can connect four with its last stone
        else:
            lower = -((NUM_CELLS - 2 - moves) // 2)  # the opponent cannot win next move
            upper = (NUM_CELLS - 1 - moves) // 2  # nor can we
            key = current + mask  # unique per position
            entry = table[_slot(key, table_bits)]
            if entry >> 8 == key and entry & 0xFF != 0:
                stored = entry & 0xFF
                if stored > _LOWER_OFFSET - _UPPER_OFFSET:
                    lower = max(lower, stored - _LOWER_OFFSET)
                else:
                    upper = min(upper, stored - _UPPER_OFFSET)
            if lower >= beta:
                value = lower
            elif upper <= alpha:
                value = upper
            else:
                frames[moves, _F_CURRENT] = current
                frames[moves, _F_MASK] = mask
                frames[moves, _F_ALPHA] = max(alpha, lower)
                frames[moves, _F_BETA] = min(beta, upper)
                frames[moves, _F_KEY] = key
                # Children are probed soon: start loading their slots now.
                rest = candidates
                while rest:
                    move = rest & -rest
                    rest ^= move
                    _prefetch(table, _slot((current ^ mask) + (mask | move), table_bits))
                frames[moves, _F_ORDER] = _ordered_columns(current, mask, candidates)
                frames[moves, _F_NEXT] = 0

        # Back finished values up the path until a node has a move left to try.
        while True:
            if value != _OPEN:
                if moves == root:
                    counter[0] += nodes
                    return value
                moves -= 1
                score = -value
                if score >= frames[moves, _F_BETA]:  # fail high: score is a lower bound
                    key = frames[moves, _F_KEY]
                    table[_slot(key, table_bits)] = (key << 8) | (score + _LOWER_OFFSET)
                    value = score
                    continue
                frames[moves, _F_ALPHA] = max(frames[moves, _F_ALPHA], score)
            order = frames[moves, _F_ORDER]
            child = frames[moves, _F_NEXT]
            if child < order & 15:
                break
            value = frames[moves, _F_ALPHA]  # all moves fail low: alpha is an upper bound
            key = frames[moves, _F_KEY]
            table[_slot(key, table_bits)] = (key << 8) | (value + _UPPER_OFFSET)

        # Descend into the next move.
        frames[moves, _F_NEXT] = child + 1
        column = (order >> (4 + 4 * child)) & 15
        mask = frames[moves, _F_MASK]
        move = (mask + (1 << (column * _STRIDE))) & (_COLUMN_BITS << (column * _STRIDE))
        current = frames[moves, _F_CURRENT] ^ mask
        mask |= move
        alpha, beta = -frames[moves, _F_BETA], -frames[moves, _F_ALPHA]
        moves += 1


@numba.njit(cache=True)
def _half_toward_zero(value: int) -> int:
    return value // 2 if value >= 0 else -((-value) // 2)


@numba.njit(cache=True)
def _solve_kernel(current, mask, moves, table, table_bits, frames, counter, limit):
    """Exact score of a position that is not over (see ``Connect4Solver.solve``), or ABORTED
    once ``counter`` passes ``limit`` nodes."""
    if _winning_cells(current, mask) & _playable(mask):
        return (NUM_CELLS + 1 - moves) // 2
    if moves >= NUM_CELLS:
        return 0
    low = -((NUM_CELLS - moves) // 2)
    high = (NUM_CELLS + 1 - moves) // 2
    while low < high:
        # Null-window test near the middle of [low, high], but no nearer zero
        # than half a bound: tests far from zero (is there a fast win or a
        # fast loss?) are cheap, so they are tried first.
        probe = low + (high - low) // 2
        if probe <= 0 and _half_toward_zero(low) < probe:
            probe = _half_toward_zero(low)
        elif probe >= 0 and _half_toward_zero(high) > probe:
            probe = _half_toward_zero(high)
        result = _negamax(
            current, mask, moves, probe, probe + 1, table, table_bits, frames, counter, limit
        )
        if result == ABORTED:
            return ABORTED
        if result <= probe:
            high = result
        else:
            low = result
    return low


# ----------------------------------------------------------------------------
# Positions.
# ----------------------------------------------------------------------------


def _bad_move_message(text: str, index: int) -> str:
    where = f"move {index + 1} of {text!r}"
    char = text[index]
    if char not in "0123456789":
        return f"{where}: {char!r} is not a column digit 1-7"
    if not 1 <= int(char) <= WIDTH:
        return f"{where}: column {char} is outside 1-{WIDTH}"
    return f"{where}: the game was already won by the previous move"


def parse_moves(text: str) -> Position:
    """The position ``(current, mask, moves)`` after a sequence of column digits.

    ``text`` lists columns '1'..'7' played alternately from the empty board,
    e.g. ``"4453"``; surrounding whitespace is ignored. The last move may end
    the game (see ``is_won``), but no move may follow a win.

    Raises:
      InvalidPositionError: a character that is not a digit 1-7, a move into a
        full column, or a move after the game was already won.
    """
    text = text.strip()
    current, mask = 0, 0
    for index, char in enumerate(text):
        column = "1234567".find(char)
        if column < 0 or has_four(current ^ mask):
            raise InvalidPositionError(_bad_move_message(text, index))
        move = (mask + (1 << (column * _STRIDE))) & (_COLUMN_BITS << (column * _STRIDE))
        if move == 0:
            raise InvalidPositionError(f"move {index + 1} of {text!r}: column {char} is full")
        current ^= mask  # the side to move becomes the opponent
        mask |= move
    return current, mask, mask.bit_count()


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
    if has_four(current):
        raise InvalidPositionError("the side to move already has four in a row")
    if mask.bit_count() != moves:
        raise InvalidPositionError(f"moves={moves} but the mask holds {mask.bit_count()} stones")
    if current.bit_count() != moves // 2:
        raise InvalidPositionError(
            f"the side to move should have {moves // 2} stones after {moves} moves, "
            f"has {current.bit_count()}"
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

    def __init__(self, *, table_bits: int = DEFAULT_TABLE_BITS) -> None:
        """A table of ``2**table_bits`` slots of 8 bytes (the default takes 64 MiB)."""
        if not 10 <= table_bits <= 32:
            raise ValueError(f"table_bits must be in 10..32, got {table_bits}")
        self._table_bits = table_bits
        self._table = np.zeros(1 << table_bits, dtype=np.int64)  # [2**table_bits] key << 8 | bound
        self._frames = np.zeros((NUM_CELLS + 1, _FRAME_WIDTH), dtype=np.int64)  # [ply, field]
        self._counter = np.zeros(1, dtype=np.int64)
        self.node_count = 0

    def reset(self) -> None:
        """Forget every stored bound."""
        self._table.fill(0)

    def _search(self, current: int, mask: int, moves: int, limit: int) -> int:
        return int(
            _solve_kernel(
                current,
                mask,
                moves,
                self._table,
                self._table_bits,
                self._frames,
                self._counter,
                limit,
            )
        )

    def solve(self, position: str | Position, *, max_nodes: int | None = None) -> int | None:
        """Exact score of ``position`` (a move string or ``(current, mask, moves)``).

        With ``max_nodes``: None when the search needs more nodes than that (what it proved
        stays in the table: a repeated call goes on from there). Raises InvalidPositionError
        for malformed positions and for positions where a player has already connected four.
        A full board scores 0.
        """
        current, mask, moves = _to_position(position)
        if is_won((current, mask, moves)):
            raise InvalidPositionError("the game is already over: the last move connected four")
        self._counter[0] = 0
        score = self._search(current, mask, moves, _limit(max_nodes))
        self.node_count = int(self._counter[0])
        return None if score == ABORTED else score

    def analyse(self, position: str | Position, *, max_nodes: int | None = None
                ) -> dict[int, int | None] | None:
        """Exact score of each column 1..7 for the side that plays it, None if full.

        ``max(score for score in result.values() if score is not None)`` equals
        ``solve(position)``. A move that wins at once scores ``(43 - moves) // 2``. With
        ``max_nodes`` (over all columns together): None when that is not enough, as `solve`.
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
                score = self._search(current ^ mask, mask | move, moves + 1, _limit(max_nodes))
                if score == ABORTED:
                    self.node_count = int(self._counter[0])
                    return None
                scores[column + 1] = -score
        self.node_count = int(self._counter[0])
        return scores


def _limit(max_nodes: int | None) -> int:
    """The kernels' node limit: ``max_nodes``, or none at all (int64's largest)."""
    if max_nodes is None:
        return np.iinfo(np.int64).max
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be positive, got {max_nodes}")
    return int(max_nodes)


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
