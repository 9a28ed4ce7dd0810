"""Tests for the perfect Connect Four solver against Pascal Pons' benchmark positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from games.base import InvalidPositionError
from games.connect4_solver import (
    Connect4Solver,
    Position,
    analyse,
    is_won,
    parse_moves,
    solve,
)

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "connect4"
SAMPLE_FILES = ("Test_L3_R1", "Test_L2_R1", "Test_L2_R2", "Test_L1_R1")

# A drawn game played to the last cell.
FULL_BOARD_DRAW = "231634161247672231544674712724167556333555"


def load_positions(name: str) -> list[tuple[str, int]]:
    """(moves, score) pairs of a sampled benchmark file."""
    lines = (DATA_DIR / name).read_text().splitlines()
    return [(moves, int(score)) for moves, score in (line.split() for line in lines if line)]


def from_ascii(board: str) -> Position:
    """A (current, mask, moves) position from rows drawn top to bottom.

    'X' is the first player, 'O' the second, '.' empty; the side to move
    follows from the stone counts.
    """
    rows = board.split()
    assert len(rows) == 6 and all(len(row) == 7 for row in rows)
    stones = {"X": 0, "O": 0}
    for height, row in enumerate(reversed(rows)):
        for column, cell in enumerate(row):
            if cell != ".":
                stones[cell] |= 1 << (column * 7 + height)
    moves = (stones["X"] | stones["O"]).bit_count()
    to_move = "X" if moves % 2 == 0 else "O"
    return stones[to_move], stones["X"] | stones["O"], moves


@pytest.fixture(scope="module")
def solver() -> Connect4Solver:
    return Connect4Solver(table_bits=22)


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_solve_agrees_with_reference(solver: Connect4Solver, name: str) -> None:
    positions = load_positions(name)
    assert len(positions) >= 5
    wrong = [(moves, score, solver.solve(moves)) for moves, score in positions]
    wrong = [case for case in wrong if case[1] != case[2]]
    assert wrong == []


@pytest.mark.parametrize("name", ("Test_L3_R1", "Test_L2_R1", "Test_L2_R2"))
def test_analyse_is_consistent_with_solve(solver: Connect4Solver, name: str) -> None:
    for moves, score in load_positions(name)[:12]:
        scores = solver.analyse(moves)
        assert sorted(scores) == list(range(1, 8))
        assert max(value for value in scores.values() if value is not None) == score
        _, mask, count = parse_moves(moves)
        for column, value in scores.items():
            column_full = (mask >> ((column - 1) * 7 + 5)) & 1
            assert (value is None) == bool(column_full)
            if value is not None and is_won(parse_moves(moves + str(column))):
                assert value == (43 - count) // 2


def test_mirror_positions_score_the_same(solver: Connect4Solver) -> None:
    for moves, score in load_positions("Test_L2_R1")[:10]:
        mirrored = "".join(str(8 - int(char)) for char in moves)
        assert solver.solve(mirrored) == score


def test_solve_win_next_move(solver: Connect4Solver) -> None:
    position = from_ascii(
        """
        .......
        .......
        .......
        .......
        ...OOO.
        ...XXX.
        """
    )
    assert position == parse_moves("445566")
    assert solver.solve(position) == 18  # X's fourth stone connects
    scores = solver.analyse(position)
    assert scores[3] == scores[7] == 18
    # Elsewhere O blocks one end and X connects at the other with its fifth stone.
    assert [scores[column] for column in (1, 2, 4, 5, 6)] == [17] * 5
    assert solve("445566") == 18
    assert analyse("445566") == scores
    assert solve("121212") == 18  # the example of the score convention


def test_solve_forced_loss_against_double_threat(solver: Connect4Solver) -> None:
    position = from_ascii(
        """
        .......
        .......
        .......
        .......
        O......
        O.XXX..
        """
    )
    assert solver.solve(position) == -18  # O blocks one end, X completes the other
    assert set(solver.analyse(position).values()) == {-18}


def test_solve_draw_on_nearly_full_board(solver: Connect4Solver) -> None:
    position = from_ascii(
        """
        XX.O.OX
        OXOO.OO
        OOXX.OX
        XXXOXXX
        XOXXOOO
        XXOOXOO
        """
    )
    assert solver.solve(position) == 0
    assert solver.analyse(position) == {1: None, 2: None, 3: 0, 4: None, 5: -2, 6: None, 7: None}


def test_full_board_draw() -> None:
    solver = Connect4Solver(table_bits=10)
    assert solver.solve(FULL_BOARD_DRAW) == 0
    assert set(solver.analyse(FULL_BOARD_DRAW).values()) == {None}
    assert solver.solve(FULL_BOARD_DRAW[:41]) == 0


def test_reset_keeps_answers(solver: Connect4Solver) -> None:
    moves, score = load_positions("Test_L2_R2")[0]
    solver.reset()
    assert solver.solve(moves) == score
    cold_nodes = solver.node_count
    assert solver.solve(moves) == score
    assert 0 < solver.node_count <= cold_nodes


@pytest.mark.parametrize(
    ("moves", "message"),
    [
        ("44a5", "'a' is not a column digit"),
        ("4 4", "' ' is not a column digit"),
        ("448", "column 8 is outside 1-7"),
        ("0", "column 0 is outside 1-7"),
        ("1111111", "column 1 is full"),
        ("12121213", "already won"),
    ],
)
def test_parse_rejects_bad_moves(moves: str, message: str) -> None:
    with pytest.raises(InvalidPositionError, match=message):
        parse_moves(moves)
    with pytest.raises(InvalidPositionError, match=message):
        solve(moves)


def test_game_over_cannot_be_solved(solver: Connect4Solver) -> None:
    position = parse_moves("1212121")  # X connects four in column 1
    assert is_won(position)
    with pytest.raises(InvalidPositionError, match="already over"):
        solver.solve("1212121")
    with pytest.raises(InvalidPositionError, match="already over"):
        solver.analyse(position)


@pytest.mark.parametrize(
    ("position", "message"),
    [
        ((0, 1 << 6, 1), "outside the 7x6 board"),  # a sentinel bit
        ((0, 1 << 1, 1), "above an empty cell"),
        ((2, 1, 1), "where mask has none"),
        ((0, 3, 3), "mask holds 2 stones"),
        ((1, 1, 1), "should have 0 stones"),
        ("not a position", "not a column digit"),
        ((1, 2), "tuple"),
    ],
)
def test_rejects_bad_positions(solver: Connect4Solver, position: object, message: str) -> None:
    with pytest.raises(InvalidPositionError, match=message):
        solver.solve(position)  # type: ignore[arg-type]


def test_a_node_budget_stops_the_search_and_a_repeat_goes_on_exactly():
    from games.connect4_solver import Connect4Solver

    # Middle-game positions of Test_L2_R2 that take 40,000-290,000 nodes.
    positions = ("274552224131661", "5455174361263362", "2531276566711153", "6614446666373154")
    solver, exact = Connect4Solver(table_bits=20), Connect4Solver(table_bits=20)
    assert solver.solve(positions[0], max_nodes=1000) is None and solver.node_count <= 1001
    assert solver.analyse(positions[0], max_nodes=1000) is None
    for position in positions:
        exact.reset()
        want = exact.solve(position)
        budget = max(1000, exact.node_count // 5)
        solver.reset()
        slices, score = 0, None
        while score is None and slices < 200:  # slices, the table carrying what each proved
            score, slices = solver.solve(position, max_nodes=budget), slices + 1
        assert score == want and slices > 1
        want_moves = exact.analyse(position)
        solver.reset()
        moves, slices = None, 0
        while moves is None and slices < 500:
            moves, slices = solver.analyse(position, max_nodes=budget), slices + 1
        assert moves == want_moves
    with pytest.raises(ValueError, match="max_nodes"):
        solver.solve("4453", max_nodes=0)
