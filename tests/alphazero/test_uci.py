"""alphazero uci: the protocol in-process, and whole games through python-chess's client."""

import io
import sys
import time

import chess
import chess.engine
import pytest

from alphazero.stockfish import StockfishNotFoundError, find_stockfish
from alphazero.uci import GoLimits, UCIEngine, parse_go, time_budget, value_to_cp

UCI_COMMAND = [sys.executable, "-m", "alphazero.cli", "uci"]


def stockfish_or_none():
    try:
        return find_stockfish()
    except StockfishNotFoundError:
        return None


class Session:
    """A UCIEngine fed lines in-process, its output collected."""

    def __init__(self, *options):
        self.out = io.StringIO()
        self.engine = UCIEngine(self.out)
        for line in ("setoption name Simulations value 16", *options):
            self.send(line)

    def send(self, line):
        assert self.engine.handle(line) is not False or line == "quit"

    def wait(self):
        assert self.engine.wait(timeout=120)

    def lines(self):
        return self.out.getvalue().splitlines()

    def bestmoves(self):
        return [line.split()[1] for line in self.lines() if line.startswith("bestmove")]


def test_handshake_lists_id_and_options():
    s = Session()
    s.send("uci")
    lines = s.lines()
    assert lines[0].startswith("id name ") and lines[1].startswith("id author ")
    assert any("option name Checkpoint type string" in line for line in lines)
    assert any("option name Simulations type spin" in line for line in lines)
    assert any("option name Search type combo" in line and "var gumbel" in line
               for line in lines)
    assert lines[-1] == "uciok"


def test_garbage_and_bad_positions_never_crash():
    s = Session()
    for line in ["", "   ", "hello world", "position", "position fen not-a-fen",
                 "setoption name NoSuchOption value 3", "setoption name Simulations value -4",
                 "setoption name Search value magic", "setoption", "go nodes many",
                 "position startpos moves e2e5"]:
        s.send(line)
    s.wait()
    text = s.out.getvalue()
    assert "info string invalid position" in text
    assert "info string unknown option 'NoSuchOption'" in text
    assert s.bestmoves() == ["0000"]  # "go" on an invalid position: a null move, no crash
    s.send("isready")
    assert s.lines()[-1] == "readyok"
    s.send("position startpos moves e2e4 e7e5")
    s.send("go nodes 16")
    s.wait()
    best = s.bestmoves()[-1]
    board = chess.Board()
    board.push_uci("e2e4")
    board.push_uci("e7e5")
    assert chess.Move.from_uci(best) in board.legal_moves
    info = [line for line in s.lines() if line.startswith("info depth")]
    assert info and all(" score cp " in line and " nps " in line and " pv " in line
                        for line in info)


def test_fen_position_and_game_over():
    s = Session()
    s.send("position fen 7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")  # stalemate
    s.send("go nodes 8")
    s.wait()
    assert s.bestmoves() == ["0000"]
    s.send("position fen 6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1 moves a1a2")
    s.send("go depth 2")
    s.wait()
    board = chess.Board("6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1")
    board.push_uci("a1a2")
    assert chess.Move.from_uci(s.bestmoves()[-1]) in board.legal_moves


def test_stop_ends_an_infinite_search_promptly():
    s = Session()
    s.send("isready")
    s.send("position startpos")
    s.send("go infinite")
    time.sleep(0.5)
    assert s.bestmoves() == []  # infinite: no bestmove before stop
    start = time.perf_counter()
    s.send("stop")
    assert time.perf_counter() - start < 10
    assert len(s.bestmoves()) == 1
    s.send("quit")


def test_parse_go_and_time_budget():
    limits = parse_go("wtime 60000 btime 30000 winc 1000 binc 0 movestogo 10".split())
    assert (limits.wtime, limits.btime, limits.winc, limits.movestogo) == (60.0, 30.0, 1.0, 10)
    target, hard = time_budget(limits, chess.WHITE, overhead=0.1, ply=0)
    assert 5.0 < target <= hard <= 0.4 * 60
    target, hard = time_budget(limits, chess.BLACK, overhead=0.1, ply=0)
    assert target < 3.5 and hard < 12
    tiny = GoLimits(wtime=0.05)
    target, hard = time_budget(tiny, chess.WHITE, overhead=0.1, ply=40)
    assert target <= hard <= 0.05
    assert time_budget(parse_go(["movetime", "500"]), chess.WHITE, 0.1, 0) == (0.4, 0.4)
    assert time_budget(parse_go(["nodes", "100"]), chess.WHITE, 0.1, 0) == (None, None)
    assert parse_go(["mate", "2"]).depth == 3
    with pytest.raises(ValueError):
        parse_go(["nodes"])


def test_value_to_cp_is_monotonic_and_bounded():
    values = [-1.0, -0.9, -0.5, 0.0, 0.5, 0.9, 1.0]
    cps = [value_to_cp(v) for v in values]
    assert cps == sorted(cps) and cps[3] == 0 and abs(cps[0]) <= 10000 and cps[-1] == -cps[0]


@pytest.mark.slow
def test_full_game_through_python_chess():
    """A whole game driven by python-chess's own UCI client: against Stockfish when it is
    installed (it ends the game quickly), else against a second copy of the engine."""
    engine = chess.engine.SimpleEngine.popen_uci(UCI_COMMAND, timeout=120)
    stockfish = None
    binary = stockfish_or_none()
    if binary is not None:
        stockfish = chess.engine.SimpleEngine.popen_uci(binary)
        stockfish.configure({"Skill Level": 20})
        opponent, opponent_limit = stockfish, chess.engine.Limit(nodes=2000)
    else:
        opponent = chess.engine.SimpleEngine.popen_uci(UCI_COMMAND, timeout=120)
        opponent_limit = chess.engine.Limit(nodes=8)
    try:
        assert engine.id["name"].startswith("AlphaZero")
        engine.configure({"Simulations": 32})
        board = chess.Board()
        while not board.is_game_over(claim_draw=True) and board.ply() < 300:
            if board.turn == chess.WHITE:
                result = engine.play(board, chess.engine.Limit(nodes=16),
                                     info=chess.engine.INFO_ALL)
                assert "score" in result.info and "pv" in result.info
            else:
                result = opponent.play(board, opponent_limit)
            assert result.move in board.legal_moves
            board.push(result.move)
        # A clock: the engine must answer well within its time.
        start = time.perf_counter()
        result = engine.play(chess.Board(), chess.engine.Limit(white_clock=3, black_clock=3))
        assert time.perf_counter() - start < 3 and result.move in chess.Board().legal_moves
        with engine.analysis(chess.Board(), chess.engine.Limit(time=0.5)) as analysis:
            analysis.wait()
    finally:
        engine.quit()
        opponent.quit()
