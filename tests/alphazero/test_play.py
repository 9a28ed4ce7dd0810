"""alphazero play: scripted sessions through stdin for each game, PGN, undo, bad input."""

import io
import subprocess
import sys

import chess
import chess.pgn
import numpy as np
import pytest

from alphazero.cli import main
from alphazero.play.engine import SearchEngine
from alphazero.play.terminal import (
    _undo,
    describe_value,
    format_line,
    play_session,
    result_text,
    save_pgn,
)
from games import get_game
from search import SearchParams, uniform_evaluate


def play(monkeypatch, capsys, argv, stdin):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["play", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_tictactoe_session_with_bad_input_undo_hint_eval(monkeypatch, capsys):
    stdin = "5\nfoo\n10\n\nhelp\n1\nundo\nhint\neval\n1\n"  # then end of input
    code, out, err = play(monkeypatch, capsys, ["tictactoe", "--sims", "16"], stdin)
    assert code == 0
    assert "You play 5" in out and "Engine plays" in out
    assert "Not a move: 'foo' is not a cell" in out
    assert "Not a move: '10'" in out
    assert "Commands:" in out and "Took back 2 moves." in out
    assert "Hint:" in out and "Eval:" in out and "pv:" in out
    assert "to win" in out  # the engine's evaluation as a win probability
    assert "End of input" in out
    assert "tictactoe" in err  # says which network it uses


def test_tictactoe_game_runs_to_the_end(monkeypatch, capsys):
    # Try every cell in turn each time: taken cells are refused with one line.
    stdin = "".join(f"{cell}\n" for _ in range(5) for cell in range(1, 10))
    code, out, _ = play(monkeypatch, capsys, ["tictactoe", "--sims", "32"], stdin)
    assert code == 0 and "Game over:" in out
    assert "is taken" in out


def test_connect4_session_second_player(monkeypatch, capsys):
    stdin = "4\n8\nx\n\nundo\n4\nquit\n"
    code, out, _ = play(monkeypatch, capsys, ["connect4", "--sims", "16", "--color", "second"],
                        stdin)
    assert code == 0
    assert out.index("Engine plays") < out.index("You play 4")  # the engine opened
    assert "is not a column" in out
    assert "Took back 2 moves." in out and "You left the game." in out
    assert "(*)" not in out  # PGN's mark only where the game writes PGN


def test_undo_before_any_human_move_says_so(monkeypatch, capsys):
    code, out, _ = play(monkeypatch, capsys, ["connect4", "--sims", "8", "--color", "o"],
                        "undo\n")
    assert code == 0 and "Nothing to undo." in out


def test_learned_search_is_a_one_line_error(monkeypatch, capsys):
    code, out, err = play(monkeypatch, capsys, ["tictactoe", "--search", "learned"], "")
    assert code == 2
    assert "learned search" in err and "error" in err
    assert len(err.strip().splitlines()) == 1


def test_chess_session_through_subprocess_saves_pgn(tmp_path):
    pgn = tmp_path / "game.pgn"
    stdin = "e4\nNf9\ne2e5\nundo\nd4\nhint\nO-O\n"  # end of input after the last line
    proc = subprocess.run(
        [sys.executable, "-m", "alphazero", "play", "chess", "--sims", "16", "--pgn",
         str(pgn)], input=stdin, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    out = proc.stdout
    assert "♔" in out and "a b c d e f g h" in out  # Unicode board
    assert "malformed move 'Nf9'" in out
    assert "Took back 2 moves." in out and "You play d4" in out
    assert "Hint:" in out and "illegal move 'O-O'" in out
    assert "End of input" in out and f"Game saved to {pgn}" in out
    game = chess.pgn.read_game(io.StringIO(pgn.read_text()))
    moves = [m.uci() for m in game.mainline_moves()]
    assert moves[0] == "d2d4" and len(moves) == 2
    assert game.headers["Result"] == "*" and game.headers["White"] == "You"


def test_engine_session_in_process_plays_chess_as_white():
    game = get_game("chess")
    engine = SearchEngine(game, uniform_evaluate, SearchParams(simulations=8))
    out = io.StringIO()
    result = play_session(game, engine, human=1, simulations=8, lines=iter(["e5\n", "quit\n"]),
                          out=out)
    text = out.getvalue()
    assert result == "*" and text.count("Engine plays") == 2
    assert "You play e5" in text or "Not a move" in text


def test_pgn_round_trip(tmp_path):
    board = chess.Board()
    for san in ["f3", "e5", "g4", "Qh4#"]:
        board.push_san(san)
    result, sentence = result_text(get_game("chess"), board)
    assert result == "0-1" and sentence == "Black wins by checkmate."
    path = save_pgn(board, tmp_path / "sub" / "mate.pgn", result=result, human=0)
    game = chess.pgn.read_game(io.StringIO(path.read_text()))
    assert game.headers["Result"] == "0-1"
    replay = game.end().board()
    assert replay.fen() == board.fen() and replay.is_checkmate()


def test_result_text_draws_and_other_games():
    stalemate = chess.Board("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")
    assert result_text(get_game("chess"), stalemate) == ("1/2-1/2", "Draw by stalemate.")
    ttt = get_game("tictactoe")
    assert result_text(ttt, ttt.parse_position("14253")) == ("1-0", "X wins.")
    c4 = get_game("connect4")
    assert result_text(c4, c4.parse_position("1212121"))[1] == "X wins."


def test_undo_takes_back_to_the_humans_turn():
    game = get_game("tictactoe")
    s0 = game.initial_state()
    s1 = game.apply(s0, 0)
    history = [(s0, 0), (s1, 4)]
    state, taken = _undo(game, history, human=0)
    assert taken == 2 and np.array_equal(state, s0) and history == []
    assert _undo(game, [(s0, 0)], human=1) is None


def test_format_line_numbers_chess_moves():
    game = get_game("chess")
    board = chess.Board()
    board.push_san("e4")
    actions = [game.parse_move(board, "e5")]
    assert format_line(game, board, actions) == "1... e5"
    assert format_line(game, chess.Board(), [game.parse_move(chess.Board(), "Nf3")]) == "1. Nf3"


@pytest.mark.parametrize("arm", ["puct", "gumbel"])
def test_search_engine_reuses_and_finds_a_win(arm):
    game = get_game("connect4")
    engine = SearchEngine(game, uniform_evaluate, SearchParams(arm=arm, simulations=64))
    engine.set_position(game.parse_position("121212"))
    analysis = engine.search(64)
    assert analysis.action == 0 and analysis.pv[0] == 0
    assert 0.0 <= analysis.win_probability <= 1.0
    engine.set_position(game.parse_position("4455"))
    first = engine.search(32)
    engine.play(first.action)
    assert engine.params.leaves_per_step >= 8
    # PUCT keeps the played move's subtree; Gumbel starts every search afresh.
    assert (engine.root_visits() > 0) == (arm == "puct")


def test_session_reports_and_plays_a_proven_win():
    from alphazero.play.terminal import _Session

    c4 = get_game("connect4")
    engine = SearchEngine(c4, uniform_evaluate, SearchParams(simulations=64))
    session = _Session(c4, engine, human=1, simulations=64, out=io.StringIO())
    session.state = c4.parse_position("121212")  # X connects four in column 1
    engine.set_position(session.state)
    analysis, mate = session._search()
    assert analysis.action == 0 and mate == 1
    assert describe_value(c4, session.state, analysis.value, mate=mate) == \
        "X wins by force in 1 move"
    chess_game = get_game("chess")
    engine = SearchEngine(chess_game, uniform_evaluate, SearchParams(simulations=2000))
    session = _Session(chess_game, engine, human=1, simulations=2000, out=io.StringIO())
    session.state = chess.Board("7k/8/8/8/8/8/R7/1R4K1 w - - 0 1")  # mate in 2
    engine.set_position(session.state)
    analysis, mate = session._search()
    assert mate == 2 and len(analysis.pv) == 3
    assert session._search() == (analysis, mate)  # one search per position: hint = eval
    session._engine_move()  # the move played: one more move of White's to the mate
    assert "eval: White wins by force in 1 move;" in session.out.getvalue()
    board = chess.Board("7k/8/8/8/8/8/R7/1R4K1 w - - 0 1")
    for action in analysis.pv:
        board = chess_game.apply(board, action)
    assert board.is_checkmate()
    assert "% to win" in describe_value(chess_game, board, 0.2)


def test_chess_board_is_drawn_from_the_players_side_and_flips(monkeypatch, capsys):
    code, out, _ = play(monkeypatch, capsys, ["chess", "--sims", "4", "--color", "black",
                                              "--pgn", "/dev/null"], "flip\nquit\n")
    assert code == 0
    files = [line.split() for line in out.splitlines()
             if line.strip() in ("a b c d e f g h", "h g f e d c b a")][::2]  # top labels
    assert files[0] == list("hgfedcba")  # Black's side first
    assert files[-1] == list("abcdefgh")  # after flip: White's


def test_checkmate_is_said_once(monkeypatch, capsys):
    # Fool's mate: the human (White) plays f3 and g4; the result is one line.
    from alphazero.play.terminal import _Session

    game = get_game("chess")
    engine = SearchEngine(game, uniform_evaluate, SearchParams(simulations=8))
    session = _Session(game, engine, human=0, simulations=8, out=io.StringIO())
    session.state = chess.Board()
    for san in ("f3", "e5", "g4", "Qh4#"):
        session.state.push_san(san)
    result = session.run(iter([]))
    out = session.out.getvalue()
    assert result == "0-1" and out.lower().count("checkmate") == 1
    assert "Game over: Black wins by checkmate. (0-1)" in out
