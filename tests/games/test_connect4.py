"""Connect Four rules on bitboards."""

import numpy as np
import pytest

from games import IllegalMoveError, InvalidPositionError, get_game
from games.connect4 import aligned

C4 = get_game("connect4")


def board_from_ascii(rows):
    """Stones of one player from an ASCII picture (top row first, 'x' marks a stone)."""
    bits = 0
    for r, line in enumerate(reversed(rows)):
        for c, ch in enumerate(line):
            if ch == "x":
                bits |= 1 << (c * 7 + r)
    return np.int64(bits)


@pytest.mark.parametrize("rows", [
    ["x......", "x......", "x......", "x......"],                      # vertical
    ["...xxxx"],                                                       # horizontal
    ["...x...", "..x....", ".x.....", "x......"],                      # diagonal /
    ["x......", ".x.....", "..x....", "...x..."],                      # diagonal \
])
def test_four_in_a_row_in_every_direction(rows):
    assert aligned(board_from_ascii(rows))


@pytest.mark.parametrize("rows", [
    ["x......", "x......", "x......"],
    ["xxx.x.."],
    ["......x", "x......"],  # no wrap-around from the top of one column to the next
    ["x......", "x......", "x......", ".......", "x......"],
])
def test_no_false_wins(rows):
    assert not aligned(board_from_ascii(rows))


def test_no_wrap_around_between_columns():
    # bottom three of column 2 and the top cell of column 1 are adjacent bits but not a line
    stones = np.int64((1 << 5) | (1 << 7) | (1 << 8) | (1 << 9))
    assert not aligned(stones)


@pytest.mark.parametrize("moves,winner_moved_last", [
    ("1212121", True),        # vertical
    ("1122334", True),        # horizontal
    ("1223343", False),       # not yet
])
def test_game_end_through_moves(moves, winner_moved_last):
    state = C4.parse_position(moves)
    assert C4.is_terminal(state) == winner_moved_last
    if winner_moved_last:
        assert C4.terminal_value(state) == -1.0  # the side to move has lost
        assert not C4.legal_mask(state).any()


def test_diagonal_win_through_moves():
    state = C4.parse_position("1223343447")
    assert not C4.is_terminal(state)
    state = C4.apply(state, 3)  # completes 1-2-3-4 rising diagonal for the first player
    assert C4.is_terminal(state) and C4.terminal_value(state) == -1.0


def test_full_board_draw():
    # a known drawn filling order: columns in pairs so that no four line up
    moves = "121212343434565656" + "212121434343656565" + "777777"
    state = C4.parse_position(moves)
    assert state[2] == 42
    assert C4.is_terminal(state) and C4.terminal_value(state) == 0.0


def test_encode_and_symmetry():
    state = C4.parse_position("4453")
    obs = C4.encode(state)
    assert obs.shape == (3, 6, 7) and obs.dtype == np.float32
    assert obs[0].sum() == 2 and obs[1].sum() == 2 and obs[2].all()
    policy = np.arange(7, dtype=np.float32)
    (o0, p0), (o1, p1) = C4.symmetries(obs, policy)
    np.testing.assert_array_equal(o1, obs[..., ::-1])
    np.testing.assert_array_equal(p1, policy[::-1])


def test_apply_does_not_mutate_and_alternates():
    state = C4.initial_state()
    nxt = C4.apply(state, 3)
    assert state.sum() == 0 and C4.to_play(nxt) == 1


def test_bad_input():
    state = C4.parse_position("444444")
    with pytest.raises(IllegalMoveError, match="full"):
        C4.parse_move(state, "4")
    with pytest.raises(IllegalMoveError, match="1 to 7"):
        C4.parse_move(state, "8")
    with pytest.raises(IllegalMoveError):
        C4.apply(state, 3)
    with pytest.raises(InvalidPositionError, match="full column"):
        C4.parse_position("4444444")
    with pytest.raises(InvalidPositionError, match="not a column digit"):
        C4.parse_position("12a")
    with pytest.raises(InvalidPositionError, match="after the game ended"):
        C4.parse_position("12121212")


def test_render():
    text = C4.render(C4.parse_position("4453"))
    assert "X X" in text and "1 2 3 4 5 6 7" in text
