"""Chess positions packed into int64 rows, for the search to keep one per tree node.

A ``chess.Board`` with its move stack costs about 1.3 kB at ply 10 and 16 bytes more every
ply (two lists of the whole game), which made the search tree's boards the largest part of
its memory. A row is 13 int64 (104 bytes): everything a ``chess.Board`` needs to be rebuilt
(the move stack aside) and the position's key for repetitions::

    0-5   pawns, knights, bishops, rooks, queens, kings (bitboards)
    6, 7  white, black pieces
    8     clean castling rights            } with 0-7: python-chess's transposition key
    9     turn | (legal en passant square + 1) << 1
    10    promoted pieces
    11    castling rights (as the board holds them)
    12    (en passant square + 1) | reversible-into << 7 | halfmove clock << 8
          | fullmove number << 32

Bitboards are stored bit for bit (``uint64`` values in int64 slots). The move stack is
replaced by the tree itself: repetitions are counted by walking from a node to its parents
(``parents[N]``, the tree's), then through ``history``, the rows of the positions before the
root, exactly as ``Board.is_repetition`` pops moves: back to the first irreversible move
(``Board.is_irreversible``), comparing transposition keys. The search therefore gives the
same observations, legal masks and draws as with whole boards (tests/games/test_chess_nodes).
"""

from __future__ import annotations

import chess
import numpy as np
from numba import njit

STATE_SIZE = 13
KEY_COLUMNS = 10  # columns 0..9 are the transposition key
TURN_EP, PROMOTED, CASTLING, CLOCKS = 9, 10, 11, 12
_REVERSIBLE_BIT = 7
_EMPTY_HISTORY = np.zeros((0, STATE_SIZE), dtype=np.int64)


def pack(board: chess.Board, reversible_into: bool) -> list[int]:
    """The row of ``board`` (as Python ints, uint64 bit patterns); ``reversible_into``: the
    move that led here was reversible (so a repetition may reach further back)."""
    ep = board.ep_square
    legal_ep = ep + 1 if ep is not None and board.has_legal_en_passant() else 0
    occupied_co = board.occupied_co
    return [board.pawns, board.knights, board.bishops, board.rooks, board.queens,
            board.kings, occupied_co[chess.WHITE], occupied_co[chess.BLACK],
            board.clean_castling_rights(), int(board.turn) | legal_ep << 1, board.promoted,
            board.castling_rights,
            (0 if ep is None else ep + 1) | int(reversible_into) << _REVERSIBLE_BIT
            | board.halfmove_clock << 8 | board.fullmove_number << 32]


def unpack(row: list[int]) -> chess.Board:
    """A ``chess.Board`` (empty move stack) from a row given as Python ints (``tolist()`` of a
    ``uint64`` view): the attributes ``Board.copy(stack=False)`` sets, without its calls."""
    board = chess.Board.__new__(chess.Board)
    (board.pawns, board.knights, board.bishops, board.rooks, board.queens, board.kings,
     white, black, _, turn_ep, board.promoted, board.castling_rights, clocks) = row
    board.occupied_co = [black, white]  # indexed by colour: BLACK = False = 0
    board.occupied = white | black
    board.turn = bool(turn_ep & 1)
    ep = clocks & 0x7F
    board.ep_square = ep - 1 if ep else None
    board.halfmove_clock = clocks >> 8 & 0xFFFFFF
    board.fullmove_number = clocks >> 32
    board.chess960 = False
    board.move_stack = []
    board._stack = []
    return board


def pack_root(board: chess.Board) -> tuple[np.ndarray, np.ndarray]:
    """(int64[STATE_SIZE] row of ``board``, int64[H, STATE_SIZE] rows of the positions before
    it that a repetition can reach, the latest first)."""
    if board.chess960:
        raise ValueError("packed chess states support standard chess only")
    rows = []
    scratch = board.copy(stack=False)  # the lists copied, not each move (Board.copy does)
    scratch.move_stack, scratch._stack = board.move_stack.copy(), board._stack.copy()
    while True:  # rows[i] is the position i plies back; the last one is where repetitions stop
        reversible = False
        if scratch.move_stack:
            move = scratch.pop()
            reversible = not scratch.is_irreversible(move)
            scratch.push(move)
        rows.append(pack(scratch, reversible))
        if not reversible:
            break
        scratch.pop()
    packed = np.array(rows, dtype=np.uint64).view(np.int64)
    return packed[0], (packed[1:] if len(rows) > 1 else _EMPTY_HISTORY)


@njit(cache=True)
def earlier_occurrences(rows, parents, history, node, most):
    """How many earlier positions (at most ``most``) since the last irreversible move have
    the key of ``node``'s: node's ancestors through ``parents`` (-1 above the root, node 0),
    then the ``history`` rows of the game before the root."""
    count = 0
    cur = rows[node]
    parent = node
    h = -1  # index in history once above the root
    while count < most and (cur[CLOCKS] >> _REVERSIBLE_BIT) & 1:
        if h < 0 and parents[parent] >= 0:
            parent = parents[parent]
            cur = rows[parent]
        else:
            h += 1
            if h >= history.shape[0]:
                break
            cur = history[h]
        same = True
        for c in range(KEY_COLUMNS):
            if cur[c] != rows[node, c]:
                same = False
                break
        if same:
            count += 1
    return count

