"""Packed chess node states (games/chess_nodes.py): a row rebuilds the board, and stepping
rows along a line of play describes each position exactly as ``describe`` does the whole
board with its move stack (repetitions included)."""

from __future__ import annotations

import random

import chess
import numpy as np
import pytest

from games.chess import GAME, NUM_ACTIONS, OBSERVATION_SHAPE, encode_move
from games.chess_nodes import STATE_SIZE, earlier_occurrences, pack, pack_root, unpack


def _random_line(seed: int, plies: int, shuffle: float) -> list[chess.Board]:
    """Boards along a seeded random game; with probability ``shuffle`` a side takes back its
    last move when it can (a knight or king going back), so positions repeat."""
    rng = random.Random(seed)
    board, line = chess.Board(), []
    while len(line) < plies and not GAME.is_terminal(board):
        move = rng.choice(list(board.legal_moves))
        if len(board.move_stack) >= 2 and rng.random() < shuffle:
            last = board.move_stack[-2]
            back = chess.Move(last.to_square, last.from_square)
            if board.piece_type_at(last.to_square) in (chess.KNIGHT, chess.KING) \
                    and board.is_legal(back):
                move = back
        board.push(move)
        line.append(board.copy())
    return line


@pytest.mark.parametrize("seed", range(4))
def test_unpack_rebuilds_the_board(seed):
    for board in _random_line(seed, 80, 0.3):
        rebuilt = unpack(np.array(pack(board, True), dtype=np.uint64).tolist())
        assert rebuilt.fen(en_passant="fen") == board.fen(en_passant="fen")
        assert rebuilt.castling_rights == board.castling_rights
        assert rebuilt.promoted == board.promoted
        assert list(rebuilt.generate_legal_moves()) == list(board.generate_legal_moves())


@pytest.mark.parametrize("seed,root_ply", [(0, 0), (1, 6), (2, 20), (3, 35), (4, 12)])
def test_stepped_rows_describe_as_the_whole_board(seed, root_ply):
    """A chain of nodes from a root with history: every observation, mask, terminal flag and
    value equals ``describe`` of the board with its full move stack."""
    line = _random_line(seed, 120, 0.8)
    root_ply = min(root_ply, len(line) // 2)
    root = line[root_ply] if root_ply else chess.Board()
    path = line[root_ply + 1:] if root_ply else line
    rows = np.zeros((len(path) + 1, STATE_SIZE), dtype=np.int64)
    parents = np.arange(-1, len(path), dtype=np.int32)  # node i's parent is i - 1
    rows[0], history = pack_root(root)
    repeated = 0
    board = root
    for node, child in enumerate(path, start=1):
        action = encode_move(child.peek(), board.turn)
        obs = np.zeros(OBSERVATION_SHAPE, np.float32)
        legal = np.zeros(NUM_ACTIONS, bool)
        terminal, value = GAME.step_packed(rows, parents, history, node - 1, action, node, obs,
                                           legal)
        want_obs, want_legal, want_terminal, want_value = GAME.describe(child)
        np.testing.assert_array_equal(obs, want_obs)
        np.testing.assert_array_equal(legal, want_legal)
        assert (terminal, value) == (want_terminal, want_value)
        repeated += bool(obs[12].any())
        board = child
    assert repeated > 0  # the line did repeat positions


def test_history_reaches_past_the_root():
    """Knights out and back twice: the third occurrence is a draw even when the first two are
    in the root's move stack, not in the tree."""
    board = chess.Board()
    for uci in ("g1f3", "g8f6", "f3g1", "f6g8", "g1f3", "g8f6", "f3g1"):
        board.push_uci(uci)
    row, history = pack_root(board)
    assert len(history) == 7  # every move back to the start is reversible
    rows = np.stack([row, np.zeros_like(row)])
    obs = np.zeros(OBSERVATION_SHAPE, np.float32)
    legal = np.zeros(NUM_ACTIONS, bool)
    action = encode_move(chess.Move.from_uci("f6g8"), chess.BLACK)
    terminal, value = GAME.step_packed(rows, np.array([-1, 0], np.int32), history, 0, action, 1,
                                       obs, legal)
    assert terminal and value == 0.0 and not legal.any() and obs[13].all()
    assert earlier_occurrences(rows, np.array([-1, 0], np.int32), history, 1, 5) == 2
