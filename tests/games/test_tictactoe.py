"""Tic-tac-toe rules, symmetries and the perfect solver."""

import numpy as np
import pytest

from games import IllegalMoveError, InvalidPositionError, get_game
from games.tictactoe import LINES, aligned, perfect_values

TTT = get_game("tictactoe")


@pytest.mark.parametrize("line", list(LINES))
def test_all_eight_lines_win(line):
    assert aligned(np.int64(line))
    # two of the three cells are not enough
    low = int(line) & -int(line)
    assert not aligned(np.int64(int(line) ^ low))


@pytest.mark.parametrize("moves,terminal,value", [
    ("14253", True, -1.0),      # X: 1 2 3 top row
    ("1425", False, 0.0),
    ("5129", False, 0.0),
    ("1234567", True, -1.0),    # X has 1, 3, 5, 7: the 3-5-7 diagonal
    ("125374698", True, 0.0),   # full board, no line
])
def test_terminal_positions(moves, terminal, value):
    state = TTT.parse_position(moves)
    assert TTT.is_terminal(state) == terminal
    if terminal:
        assert TTT.terminal_value(state) == value


def test_perfect_play_is_a_draw_and_finds_wins():
    assert perfect_values(TTT.initial_state()) == 0.0
    assert perfect_values(TTT.parse_position("1425")) == 1.0  # X to move wins at 3
    assert perfect_values(TTT.parse_position("15")) == 0.0


def test_symmetries_preserve_the_game():
    state = TTT.parse_position("125")
    obs = TTT.encode(state)
    policy = TTT.legal_mask(state).astype(np.float32)
    pairs = TTT.symmetries(obs, policy)
    assert len(pairs) == 8
    for o, p in pairs:
        # a symmetric board has its empty cells exactly where the policy is legal
        empty = (o[0] + o[1] == 0).ravel()
        np.testing.assert_array_equal(empty, p > 0)
    assert len({o.tobytes() for o, _ in pairs}) > 1


def test_bad_input():
    state = TTT.parse_position("5")
    with pytest.raises(IllegalMoveError, match="taken"):
        TTT.parse_move(state, "5")
    with pytest.raises(IllegalMoveError, match="1 to 9"):
        TTT.parse_move(state, "0")
    with pytest.raises(InvalidPositionError, match="taken cell"):
        TTT.parse_position("55")
    with pytest.raises(InvalidPositionError, match="after the game ended"):
        TTT.parse_position("142536")
