"""Chess behind the game protocol: move encoding, draw rules, input planes, text I/O."""

from __future__ import annotations

import random

import chess
import numpy as np
import pytest

from games import get_game
from games.base import Game, IllegalMoveError, InvalidPositionError
from games.chess import (
    GAME,
    NUM_ACTIONS,
    NUM_PLANES,
    automatic_outcome_reason,
    decode_action,
    encode_move,
    outcome_reason,
)


def random_positions(count: int, seed: int) -> list[chess.Board]:
    """Positions from seeded random playouts (biased to pawn moves to reach promotions)."""
    rng = random.Random(seed)
    boards: list[chess.Board] = []
    while len(boards) < count:
        board = chess.Board()
        for _ in range(300):
            moves = list(board.legal_moves)
            if not moves or board.is_insufficient_material():
                break
            boards.append(board.copy())
            pawn_moves = [m for m in moves if board.piece_type_at(m.from_square) == chess.PAWN]
            use_pawn = pawn_moves and rng.random() < 0.3
            board.push(rng.choice(pawn_moves if use_pawn else moves))
    return boards[:count]


@pytest.fixture(scope="module")
def positions() -> list[chess.Board]:
    return random_positions(3000, seed=1234)


def play(*moves: str, fen: str = chess.STARTING_FEN) -> chess.Board:
    board = chess.Board(fen)
    for text in moves:
        board = GAME.apply(board, GAME.parse_move(board, text))
    return board


# --- protocol and move encoding ---------------------------------------------------------


def test_protocol_and_registry():
    assert isinstance(GAME, Game)
    assert get_game("chess") is GAME
    assert GAME.num_actions == NUM_ACTIONS == 4672
    assert GAME.observation_shape == (NUM_PLANES, 8, 8)
    assert GAME.to_play(chess.Board()) == 0
    assert GAME.to_play(play("e4")) == 1


def test_every_legal_move_round_trips(positions):
    seen = {"black": 0, "castling": 0, "en_passant": 0, "underpromotion": 0, "queen_promo": 0}
    for board in positions:
        moves = list(board.legal_moves)
        actions = [encode_move(m, board.turn) for m in moves]
        assert len(set(actions)) == len(actions), board.fen()
        assert all(0 <= a < NUM_ACTIONS for a in actions)
        for move, action in zip(moves, actions):
            assert decode_action(board, action) == move, (board.fen(), move)
        expected = np.zeros(NUM_ACTIONS, dtype=bool)
        if not GAME.is_terminal(board):
            expected[actions] = True
        np.testing.assert_array_equal(GAME.legal_mask(board), expected)
        np.testing.assert_array_equal(GAME.legal_actions(board), np.flatnonzero(expected))
        seen["black"] += board.turn == chess.BLACK
        seen["castling"] += any(board.is_castling(m) for m in moves)
        seen["en_passant"] += any(board.is_en_passant(m) for m in moves)
        seen["underpromotion"] += any(m.promotion in (2, 3, 4) for m in moves)
        seen["queen_promo"] += any(m.promotion == chess.QUEEN for m in moves)
    assert all(n > 0 for n in seen.values()), seen


def test_known_action_indices():
    e2e4 = chess.Move.from_uci("e2e4")
    assert encode_move(e2e4, chess.WHITE) == chess.E2 * 73 + 1  # north, distance 2
    # Black's e7e5 is White's e2e4 seen from the other side.
    assert encode_move(chess.Move.from_uci("e7e5"), chess.BLACK) == encode_move(e2e4, chess.WHITE)
    assert encode_move(chess.Move.from_uci("e7e8q"), chess.WHITE) == chess.E7 * 73 + 0
    assert encode_move(chess.Move.from_uci("e7d8n"), chess.WHITE) == chess.E7 * 73 + 64
    assert encode_move(chess.Move.from_uci("e7f8r"), chess.WHITE) == chess.E7 * 73 + 72
    assert encode_move(chess.Move.from_uci("g1f3"), chess.WHITE) == chess.G1 * 73 + 63


def test_decode_restores_queen_promotion():
    board = chess.Board("8/4P1k1/8/8/8/8/1p4K1/8 w - - 0 1")
    assert decode_action(board, chess.E7 * 73 + 0) == chess.Move.from_uci("e7e8q")
    board.push_uci("g2f3")
    # Black's b2b1 is a one-step "north" move from b7 in the flipped view.
    action = encode_move(chess.Move.from_uci("b2b1q"), chess.BLACK)
    assert action == (chess.B2 ^ 56) * 73 + 0
    assert decode_action(board, action) == chess.Move.from_uci("b2b1q")
    # A non-pawn reaching the last rank is not promoted.
    rook = chess.Board("8/R5k1/8/8/8/8/6K1/8 w - - 0 1")
    assert decode_action(rook, chess.A7 * 73 + 0) == chess.Move.from_uci("a7a8")


def test_bad_actions_raise():
    board = chess.Board()
    for action in (-1, NUM_ACTIONS, chess.A1 * 73 + 28):  # the last points south off the board
        with pytest.raises(ValueError):
            decode_action(board, action)
    with pytest.raises(ValueError, match="no action"):
        encode_move(chess.Move.null(), chess.WHITE)
    with pytest.raises(IllegalMoveError):
        GAME.apply(board, encode_move(chess.Move.from_uci("e2e5"), chess.WHITE))
    with pytest.raises(IllegalMoveError):
        GAME.format_move(board, chess.A1 * 73 + 28)


def test_every_on_board_slot_round_trips():
    for turn in (chess.WHITE, chess.BLACK):
        board = chess.Board(None)  # empty: no pawn turns a queen slot into a promotion
        board.turn = turn
        valid = 0
        for action in range(NUM_ACTIONS):
            try:
                move = decode_action(board, action)
            except ValueError:
                continue
            valid += 1
            assert encode_move(move, turn) == action
        # 1,456 queen-like moves + 336 knight moves + 22 pawn steps x 3 underpromotions.
        assert valid == 1456 + 336 + 66


def test_apply_does_not_mutate():
    board = play("e4", "e5")
    fen, stack = board.fen(), list(board.move_stack)
    child = GAME.apply(board, GAME.parse_move(board, "Nf3"))
    assert board.fen() == fen and board.move_stack == stack
    assert child.move_stack == stack + [chess.Move.from_uci("g1f3")]
    assert child.pop() == chess.Move.from_uci("g1f3")
    assert child.fen() == fen and board.move_stack == stack


# --- terminal states -------------------------------------------------------------------


def assert_draw(board: chess.Board, reason: str):
    assert GAME.is_terminal(board)
    assert outcome_reason(board) == GAME.outcome_reason(board) == reason
    assert GAME.terminal_value(board) == 0.0
    assert not GAME.legal_mask(board).any()
    assert GAME.legal_actions(board).size == 0
    _, mask, terminal, value = GAME.describe(board)
    assert terminal and value == 0.0 and not mask.any()


def test_threefold_repetition_by_knight_shuffles():
    shuffle = ("Nf3", "Nf6", "Ng1", "Ng8")
    board = play(*shuffle)
    assert not GAME.is_terminal(board)
    board = play(*shuffle, *shuffle)
    assert_draw(board, "threefold repetition")
    with pytest.raises(IllegalMoveError, match="game is over"):
        GAME.parse_move(board, "e4")


def test_a_move_list_goes_on_after_an_unclaimed_draw():
    """parse_position reads a game between players: only the automatic ends stop it."""
    shuffle = "g1f3 g8f6 f3g1 f6g8"
    board = GAME.parse_position(f"startpos moves {shuffle} {shuffle} e2e4")
    assert len(board.move_stack) == 9 and not GAME.is_terminal(board)
    board = GAME.parse_position(f"startpos moves {shuffle} {shuffle} {shuffle}")
    assert outcome_reason(board) == "threefold repetition"
    assert automatic_outcome_reason(board) is None
    board = GAME.parse_position("fen 8/8/8/4k3/8/8/R7/4K3 w - - 120 80 moves a2a3 e5e4")
    assert board.halfmove_clock == 122 and automatic_outcome_reason(board) is None
    fivefold = f"startpos moves {shuffle} {shuffle} {shuffle} {shuffle}"
    assert automatic_outcome_reason(GAME.parse_position(fivefold)) == "fivefold repetition"
    with pytest.raises(InvalidPositionError, match="'e2e4' at index 16.*fivefold repetition"):
        GAME.parse_position(fivefold + " e2e4")
    seventy_five = "fen 8/8/8/4k3/8/8/R7/4K3 w - - 150 120"
    assert automatic_outcome_reason(GAME.parse_position(seventy_five)) == "seventy-five-move rule"
    with pytest.raises(InvalidPositionError, match="seventy-five-move rule"):
        GAME.parse_position(seventy_five + " moves a2a3")
    with pytest.raises(InvalidPositionError, match="game is over \\(checkmate\\)"):
        GAME.parse_position("startpos moves f2f3 e7e5 g2g4 d8h4 e1f2")
    assert automatic_outcome_reason(chess.Board()) is None


def test_fifty_move_rule():
    board = chess.Board("8/8/8/4k3/8/8/R7/4K3 w - - 99 80")
    assert not GAME.is_terminal(board)
    assert_draw(play("Ra3", fen=board.fen()), "fifty-move rule")
    assert_draw(chess.Board("8/8/8/4k3/8/8/R7/4K3 w - - 150 120"), "fifty-move rule")
    # A pawn move resets the clock.
    assert not GAME.is_terminal(play("a4", fen="8/8/8/4k3/8/8/P7/4K3 w - - 99 80"))


def test_checkmate_beats_fifty_move_rule():
    board = play("Ra8", fen="7k/8/6K1/8/8/8/8/R7 w - - 99 80")
    assert board.halfmove_clock == 100
    assert outcome_reason(board) == "checkmate"
    assert GAME.terminal_value(board) == -1.0


@pytest.mark.parametrize(
    "fen", ["8/8/8/4k3/8/8/8/4K3 w - - 0 1", "8/8/8/4k3/8/8/8/3BK3 b - - 0 1"]
)
def test_insufficient_material(fen):
    assert_draw(chess.Board(fen), "insufficient material")


def test_enough_material_is_not_a_draw():
    assert not GAME.is_terminal(chess.Board("8/8/8/4k3/8/8/8/3RK3 w - - 0 1"))


def test_stalemate():
    assert_draw(chess.Board("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1"), "stalemate")


def test_checkmate_is_a_loss_for_the_side_to_move():
    board = play("f3", "e5", "g4", "Qh4")  # fool's mate
    assert GAME.is_terminal(board)
    assert outcome_reason(board) == "checkmate"
    assert GAME.terminal_value(board) == -1.0
    assert not GAME.legal_mask(board).any()
    _, _, terminal, value = GAME.describe(board)
    assert terminal and value == -1.0
    assert GAME.terminal_value(chess.Board()) == 0.0
    assert outcome_reason(chess.Board()) is None


# --- input planes -----------------------------------------------------------------------


def reference_encoding(board: chess.Board) -> np.ndarray:
    """Piece planes square by square, the slow obvious way."""
    planes = np.zeros((12, 8, 8), dtype=np.float32)
    flip = 0 if board.turn == chess.WHITE else 56
    for square, piece in board.piece_map().items():
        view = square ^ flip
        plane = piece.piece_type - 1 + (0 if piece.color == board.turn else 6)
        planes[plane, view // 8, view % 8] = 1.0
    return planes


def test_piece_planes_match_reference(positions):
    for board in positions[::10]:
        obs = GAME.encode(board)
        assert obs.dtype == np.float32 and obs.shape == (NUM_PLANES, 8, 8)
        np.testing.assert_array_equal(obs[:12], reference_encoding(board))
        # The colour-flipped mirror position looks the same to its side to move.
        mirrored = GAME.encode(board.mirror())
        np.testing.assert_array_equal(obs[:12], mirrored[:12])
        np.testing.assert_array_equal(obs[15:19], mirrored[15:19])


def test_planes_flip_for_black():
    obs = GAME.encode(play("e4"))
    np.testing.assert_array_equal(obs[0, 1], np.ones(8))  # Black's pawns on its second rank
    assert obs[0].sum() == 8
    np.testing.assert_array_equal(obs[6, 6], [1, 1, 1, 1, 0, 1, 1, 1])  # White's, far side
    assert obs[6, 4, 4] == 1  # e4 seen from Black is the fifth rank
    assert obs[5, 0, 4] == 1 and obs[11, 7, 4] == 1  # kings on e8 / e1
    assert not obs[14].any()
    assert GAME.encode(chess.Board())[14].all()
    assert obs[20].all()


def test_castling_and_clock_planes():
    white = GAME.encode(chess.Board("r3k2r/8/8/8/8/8/8/R3K2R w Kq - 50 30"))
    black = GAME.encode(chess.Board("r3k2r/8/8/8/8/8/8/R3K2R b Kq - 50 30"))
    assert [white[p].all() for p in range(15, 19)] == [True, False, False, True]
    assert [black[p].all() for p in range(15, 19)] == [False, True, True, False]
    np.testing.assert_allclose(white[19], 0.5)


def test_repetition_planes():
    shuffle = ("Nf3", "Nf6", "Ng1", "Ng8")
    assert not GAME.encode(chess.Board())[12:14].any()
    once = GAME.encode(play(*shuffle))
    assert once[12].all() and not once[13].any()
    not_repeated = GAME.encode(play(*shuffle, "Nf3"))  # different from two plies before
    assert not_repeated[12].all()  # the position after 1.Nf3 occurred once before
    assert not GAME.encode(play("Nf3", "Nf6", "Ng1"))[12].any()
    twice = GAME.encode(play(*shuffle, *shuffle))
    assert twice[12].all() and twice[13].all()


def test_describe_matches_separate_calls(positions):
    for board in positions[::50]:
        obs, mask, terminal, value = GAME.describe(board)
        np.testing.assert_array_equal(obs, GAME.encode(board))
        np.testing.assert_array_equal(mask, GAME.legal_mask(board))
        assert terminal == GAME.is_terminal(board)
        assert value == GAME.terminal_value(board)


def test_symmetries_identity_only():
    obs, policy = GAME.encode(chess.Board()), np.full(NUM_ACTIONS, 1 / NUM_ACTIONS)
    [(o, p)] = GAME.symmetries(obs, policy)
    assert o is obs and p is policy


# --- moves and positions as text --------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "text", "uci"),
    [
        (chess.STARTING_FEN, "Nf3", "g1f3"),
        (chess.STARTING_FEN, "g1f3", "g1f3"),
        (chess.STARTING_FEN, " e4 ", "e2e4"),
        ("4k3/P7/8/8/8/8/8/4K3 w - - 0 1", "a8=Q", "a7a8q"),
        ("4k3/P7/8/8/8/8/8/4K3 w - - 0 1", "a7a8n", "a7a8n"),
        ("4k3/8/8/8/8/8/p7/4K3 b - - 0 1", "a1=R", "a2a1r"),
        ("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1", "O-O", "e1g1"),
        ("r3k2r/8/8/8/8/8/8/R3K2R b KQkq - 0 1", "e8c8", "e8c8"),
        ("4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 2", "exd6", "e5d6"),
    ],
)
def test_parse_and_format_move(fen, text, uci):
    board = chess.Board(fen)
    action = GAME.parse_move(board, text)
    assert GAME.format_move(board, action) == uci
    assert GAME.format_move_san(board, action) == board.san(chess.Move.from_uci(uci))


@pytest.mark.parametrize(
    ("fen", "text", "message"),
    [
        (chess.STARTING_FEN, "zz", "malformed move 'zz'"),
        (chess.STARTING_FEN, "", "empty move"),
        (chess.STARTING_FEN, "0000", "null move"),
        (chess.STARTING_FEN, "e2e5", "illegal move 'e2e5'"),
        (chess.STARTING_FEN, "Nf6", "illegal move 'Nf6'"),
        ("4k3/8/8/8/8/8/8/1N2KN2 w - - 0 1", "Nd2", "ambiguous move 'Nd2'"),
        ("4k3/P7/8/8/8/8/8/4K3 w - - 0 1", "a7a8", "a promotion needs its piece"),
    ],
)
def test_parse_move_errors(fen, text, message):
    with pytest.raises(IllegalMoveError, match=message):
        GAME.parse_move(chess.Board(fen), text)


def test_parse_position_forms():
    e4e5 = "rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2"
    assert GAME.parse_position("startpos").fen() == chess.STARTING_FEN
    board = GAME.parse_position("startpos moves e2e4 e7e5")
    assert board.fen() == e4e5 and len(board.move_stack) == 2
    assert GAME.parse_position(e4e5).fen() == e4e5
    after = GAME.parse_position(f"fen {e4e5} moves g1f3 b8c6")
    assert after.move_stack == [chess.Move.from_uci("g1f3"), chess.Move.from_uci("b8c6")]
    assert GAME.format_position(after) == after.fen()
    assert GAME.parse_position(GAME.format_position(after)).fen() == after.fen()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty position"),
        ("not a fen", "malformed FEN"),
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP w KQkq - 0 1", "malformed FEN"),
        ("8/8/8/8/8/8/8/4K3 w - - 0 1", "invalid position.*no black king"),
        ("startpos moves e2e4 e7e5 e1e3", "'e1e3' at index 2"),
        ("startpos moves e2e4 xx", "'xx' at index 1"),
    ],
)
def test_parse_position_errors(text, message):
    with pytest.raises(InvalidPositionError, match=message):
        GAME.parse_position(text)


def test_render():
    text = GAME.render(play("e4"))
    lines = text.splitlines()
    assert lines[0].split() == list("abcdefgh") and lines[9] == lines[0]
    assert lines[1].startswith("8 ♜ ♞ ♝ ♛ ♚") and lines[8].startswith("1 ♖ ♘ ♗ ♕ ♔")
    assert "♙" in lines[5] and lines[-1] == "Black to move"

