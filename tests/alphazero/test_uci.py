"""alphazero uci: the protocol in-process, and whole games through python-chess's client."""

import io
import subprocess
import sys
import time

import chess
import chess.engine
import pytest

from alphazero.eval.stockfish import StockfishNotFoundError, find_stockfish
from alphazero.uci.protocol import GoLimits, UCIEngine, parse_go, time_budget, value_to_cp
from alphazero.uci.tree import LOSS, UNKNOWN, WIN, read_root
from games.chess import GAME, decode_action
from search import BatchedMCTS, SearchParams, uniform_evaluate

UCI_COMMAND = [sys.executable, "-m", "alphazero", "uci"]
MATE_IN_1 = "6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1"  # Ra8#
MATE_IN_2 = "7k/8/8/8/8/8/R7/1R4K1 w - - 0 1"  # two rooks: e.g. Ra7 Kg8 Rb8#
MATED_IN_1 = "7k/R7/6K1/8/8/8/8/8 b - - 0 1"  # Kg8 (forced) Ra8#
WAC_005 = "5k2/6pp/p1qN4/1p1p4/3P4/2PKP2Q/PP3r2/3R4 b - - 0 1"  # Qc4+ Nxc4 bxc4#
THREAT_ONLY = "6k1/5ppp/8/8/8/8/8/R5K1 b - - 0 1"  # Ra8# is threatened, not forced


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

    def infos(self):
        return [line for line in self.lines() if line.startswith("info depth")]


def forces_mate(board, plies):
    """Brute force: the side to move mates within ``plies`` plies against any defence."""
    for move in list(board.legal_moves):
        board.push(move)
        try:
            if board.is_checkmate():
                return True
            replies = list(board.legal_moves)
            if plies >= 3 and replies and all(_after(board, r, plies - 2) for r in replies):
                return True
        finally:
            board.pop()
    return False


def _after(board, reply, plies):
    board.push(reply)
    try:
        return forces_mate(board, plies)
    finally:
        board.pop()


def searched_tree(fen, simulations):
    mcts = BatchedMCTS(GAME, uniform_evaluate, SearchParams(simulations=simulations,
                                                            leaves_per_step=8), batch_size=1)
    board = chess.Board(fen)
    mcts.set_roots([board])
    mcts.run(simulations=simulations)
    return board, mcts


def line_text(board, actions):
    board = board.copy()
    moves = []
    for action in actions:
        move = decode_action(board, action)
        assert move in board.legal_moves
        moves.append(move.uci())
        board.push(move)
    return moves, board


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
                 "position startpos moves e2e5", "debug on", "register later", "ponderhit",
                 "stop", "go searchmoves", "position fen 8/8/8/8/8/8/8/8 w - - 0 1"]:
        s.send(line)
    s.wait()
    text = s.out.getvalue()
    assert "info string invalid position" in text
    assert "info string unknown option 'NoSuchOption'" in text
    assert s.bestmoves() == ["0000", "0000"]  # go on an invalid position: a null move
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
    target, hard = time_budget(parse_go(["movetime", "500"]), chess.WHITE, 0.1, 0)
    assert 0.49 <= target == hard <= 0.5  # a fixed time is used, not cut by the overhead
    assert time_budget(parse_go(["nodes", "100"]), chess.WHITE, 0.1, 0) == (None, None)
    assert parse_go(["mate", "2"]).mate == 2
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


# ------------------------------------------------------------------ proven mates (no network)
@pytest.mark.parametrize("fen,status,plies,mate", [
    (MATE_IN_1, WIN, 1, 1), (MATE_IN_2, WIN, 3, 2), (WAC_005, WIN, 3, 2),
    (MATED_IN_1, LOSS, 2, -1)])
def test_the_tree_proves_forced_mates(fen, status, plies, mate):
    board, mcts = searched_tree(fen, 3000)
    report = read_root(mcts)
    assert (report.status, report.plies, report.mate) == (status, plies, mate)
    moves, end = line_text(board, report.line)
    assert len(moves) == plies and end.is_checkmate()
    # Cross-check by brute force: the mating side really forces mate that fast.
    if status == WIN:
        assert forces_mate(board.copy(), plies)
        after = board.copy()
        after.push_uci(moves[0])
        assert plies == 1 or all(_after(after, r, plies - 2) for r in list(after.legal_moves))
    else:
        for reply in list(board.legal_moves):
            assert _after(board.copy(), reply, plies - 1)


def test_a_threat_is_not_a_proven_mate_but_its_losing_moves_are_avoided():
    board, mcts = searched_tree(THREAT_ONLY, 400)
    report = read_root(mcts)
    assert report.status == UNKNOWN and report.mate is None and report.line == []
    assert report.lost  # e.g. ...Kf8 or ...h5 allow Ra8#
    for action in report.lost:  # each proven-lost move lets White mate at once
        after = board.copy()
        after.push(decode_action(board, action))
        assert forces_mate(after, 1)
    worst = next(iter(report.lost))
    assert report.choose(worst) not in report.lost


def test_an_unsearched_tree_proves_nothing():
    board, mcts = searched_tree(MATE_IN_2, 8)
    report = read_root(mcts)
    assert report.status == UNKNOWN and report.choose(5) == 5


# -------------------------------------------------------------------- the engine, in-process
def test_mate_scores_and_go_mate_in_process():
    s = Session("setoption name Simulations value 5000")
    s.send(f"position fen {MATE_IN_1}")
    s.send("go mate 1")  # ends once the mate is proven, long before 5000 simulations
    s.wait()
    assert s.bestmoves() == ["a1a8"]
    last = s.infos()[-1]
    assert " score mate 1 " in last and last.endswith("pv a1a8")
    assert int(last.split(" nodes ")[1].split()[0]) < 5000
    s.send(f"position fen {MATED_IN_1}")
    s.send("go nodes 200")
    s.wait()
    assert s.bestmoves()[-1] == "h8g8"
    assert " score mate -1 pv h8g8 a7a8" in s.infos()[-1]


def test_searchmoves_restrict_the_root():
    s = Session()
    s.send("position startpos")
    s.send("go nodes 48 searchmoves a2a3 h2h3 e9e9 e2e5")
    s.wait()
    text = s.out.getvalue()
    assert "'e9e9' is not a legal move here" in text and "'e2e5' is not a legal move" in text
    assert s.bestmoves() == ["a2a3"] or s.bestmoves() == ["h2h3"]
    assert all(line.split(" pv ")[1].split()[0] in ("a2a3", "h2h3") for line in s.infos())
    engine = s.engine.engines.engine
    assert len(read_root(engine.mcts).visits) == 2 and engine.restricted  # a root move mask
    # Without searchmoves, the same position gets a fresh, unrestricted tree.
    s.send("go nodes 48")
    s.wait()
    assert len(read_root(s.engine.engines.engine.mcts).visits) == 20
    s.send("go nodes 16 searchmoves zz")  # nothing legal: every move is searched
    s.wait()
    assert "no legal move given" in s.out.getvalue()
    assert chess.Move.from_uci(s.bestmoves()[-1]) in chess.Board().legal_moves


def test_ponder_then_ponderhit_then_ponder_then_stop():
    s = Session()
    s.send("isready")
    s.send("position startpos moves e2e4 e7e5")
    s.send("go ponder wtime 4000 btime 4000")
    time.sleep(1.0)
    assert s.bestmoves() == [] and s.infos()  # searching on the opponent's time, no answer
    start = time.perf_counter()
    s.send("ponderhit")  # now on our clock: 4 s left, so well under a second
    s.wait()
    assert time.perf_counter() - start < 1.5
    board = chess.Board()
    board.push_uci("e2e4")
    board.push_uci("e7e5")
    assert chess.Move.from_uci(s.bestmoves()[0]) in board.legal_moves
    s.send("position startpos moves e2e4 e7e5 g1f3 b8c6")
    s.send("go ponder wtime 4000 btime 4000")
    time.sleep(0.5)
    start = time.perf_counter()
    s.send("stop")  # the opponent played something else: answer at once
    assert time.perf_counter() - start < 1.0 and len(s.bestmoves()) == 2
    best = s.lines()[-1].split()
    assert best[0] == "bestmove" and (len(best) == 2 or best[2] == "ponder")


def test_tree_is_reused_when_the_position_extends_the_last_one():
    s = Session()
    s.send("position startpos")
    s.send("go nodes 128")
    s.wait()
    words = s.lines()[-1].split()
    assert len(words) == 4, s.lines()
    best, ponder = words[1], words[3]
    s.send(f"position startpos moves {best} {ponder}")
    s.send("go nodes 8")
    s.wait()
    assert s.engine.engines.engine.root_visits() > 8 + 8  # the kept subtree plus this search


def test_a_short_clock_is_never_overrun():
    s = Session()
    s.send("isready")
    s.send("position startpos moves d2d4")
    start = time.perf_counter()
    s.send("go wtime 400 btime 400 winc 0 binc 0")
    s.wait()
    assert time.perf_counter() - start < 0.4
    assert len(s.bestmoves()) == 1


def test_python_chess_client_sees_mates_root_moves_and_ponder():
    engine = chess.engine.SimpleEngine.popen_uci(UCI_COMMAND, timeout=120)
    try:
        engine.configure({"Simulations": 32})
        info = engine.analyse(chess.Board(MATE_IN_2), chess.engine.Limit(nodes=400))
        assert info["score"].relative == chess.engine.Mate(2)
        assert len(info["pv"]) == 3
        result = engine.play(chess.Board(MATE_IN_1), chess.engine.Limit(nodes=64),
                             info=chess.engine.INFO_SCORE)
        assert result.move == chess.Move.from_uci("a1a8")
        assert result.info["score"].relative == chess.engine.Mate(1)
        root_moves = [chess.Move.from_uci("a2a3"), chess.Move.from_uci("b1a3")]
        result = engine.play(chess.Board(), chess.engine.Limit(nodes=32), root_moves=root_moves)
        assert result.move in root_moves
        # Pondering: python-chess sends "go ponder" after each move, then "ponderhit" when
        # the opponent plays the expected move, or "stop" when it does not.
        board = chess.Board()
        game = object()
        limit = chess.engine.Limit(white_clock=5, black_clock=5)
        for _ in range(3):
            result = engine.play(board, limit, ponder=True, game=game)
            assert result.move in board.legal_moves
            board.push(result.move)
            reply = result.ponder or next(iter(board.legal_moves))
            board.push(reply)
        result = engine.play(board, limit, ponder=True, game=game)
        assert result.move in board.legal_moves
    finally:
        engine.quit()


@pytest.mark.slow
def test_a_clocked_game_never_runs_out_of_time():
    """Up to 80 plies on a 4 s + 50 ms clock, kept by the test from the wall time of each
    answer (python-chess's overhead included), against Stockfish or a second copy."""
    engine = chess.engine.SimpleEngine.popen_uci(UCI_COMMAND, timeout=120)
    binary = stockfish_or_none()
    opponent = chess.engine.SimpleEngine.popen_uci(binary or UCI_COMMAND, timeout=120)
    try:
        # As a GUI does before a clocked game: isready, which waits until the network has
        # loaded (seconds on a busy machine), so the clock does not pay for the loading.
        engine.ping()
        board = chess.Board()
        clock, increment = 4.0, 0.05
        while not board.is_game_over(claim_draw=True) and board.ply() < 80:
            if board.turn == chess.WHITE:
                start = time.perf_counter()
                result = engine.play(board, chess.engine.Limit(
                    white_clock=clock, black_clock=4.0, white_inc=increment,
                    black_inc=increment))
                clock -= time.perf_counter() - start
                assert clock > 0, f"lost on time at ply {board.ply()}"
                clock += increment
            else:
                result = opponent.play(board, chess.engine.Limit(nodes=1000))
            board.push(result.move)
        assert clock > 0.1  # and it kept a reserve
    finally:
        engine.quit()
        opponent.quit()


def test_a_missing_checkpoint_is_reported_and_the_engine_still_answers(tmp_path):
    s = Session(f"setoption name Checkpoint value {tmp_path / 'missing.pt'}")
    s.send("isready")
    assert s.lines()[-1] == "readyok"
    assert not any(line.startswith("info") for line in s.lines())  # isready wants readyok
    s.send("position startpos")
    s.send("go nodes 8")
    s.wait()
    assert any(line.startswith("info string cannot load the network") for line in s.lines())
    assert chess.Move.from_uci(s.bestmoves()[-1]) in chess.Board().legal_moves


def test_raw_stdin_session_with_garbage_ends_cleanly():
    """Lines piped all at once: every go still gets its bestmove, searchmoves are honoured
    even when the next command stops the search at once, and quit ends the process."""
    lines = ["uci", "debug on", "isready", "register later", "xyzzy 1 2 3",
             "position fen rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0",  # no fen 6
             "go nodes 8", "position fen 8/8/8/8/8/8/8/8 w - - 0 1", "go nodes 8",
             "position startpos moves e2e4", "go nodes 16 searchmoves g8f6 b8c6",
             "go ponder wtime 1000 btime 1000", "ponderhit", "setoption name Threads value x",
             "go infinite", "stop", "quit"]
    proc = subprocess.run(UCI_COMMAND, input="\n".join(lines) + "\n", capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and "Traceback" not in proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    best = [line.split()[1] for line in out if line.startswith("bestmove")]
    assert len(best) == 5 and best[1] == "0000"
    assert best[2] in ("g8f6", "b8c6")
    board = chess.Board()
    board.push_uci("e2e4")
    assert all(chess.Move.from_uci(move) in board.legal_moves for move in best[2:])
    assert "readyok" in out and any("error in 'setoption'" in line for line in out)


def test_engine_pv_follows_the_move_played_on_a_visit_tie():
    """The engine behind UCI and ``play``: when root moves tie on visits the readout plays the
    higher prior, and the PV must go on below that move (it used to stop at it)."""
    import numpy as np

    from alphazero.play.engine import SearchEngine
    from games import get_game
    from search import SearchParams

    c4 = get_game("connect4")

    def rising_prior(obs, legal):
        logits = np.where(legal, 0.01 * np.arange(legal.shape[1]), -1e9)
        return logits.astype(np.float32), np.zeros(len(obs), dtype=np.float32)

    engine = SearchEngine(c4, rising_prior, SearchParams(simulations=14))
    engine.set_position(c4.initial_state())
    analysis = engine.search(14)
    assert engine.mcts.tree.edge_visits[0, :7].tolist() == [2] * 7
    assert analysis.action == 6 and engine.mcts.principal_variation(0)[0] == 0
    assert analysis.pv == [6, 6]


# --- draws nobody claimed: the game goes on (issue 20, item 2) ------------------------------

SHUFFLE = "g1f3 g8f6 f3g1 f6g8"  # the start position again, after four plies


def assert_searched_move(s, board):
    """The last ``go`` was answered by a search: a legal bestmove with a non-empty pv."""
    best = s.bestmoves()[-1]
    assert best != "0000" and chess.Move.from_uci(best) in board.legal_moves, s.lines()
    info = s.infos()[-1].split()
    assert info[info.index("pv") + 1:][:1] == [best], s.lines()


def test_an_unclaimed_threefold_repetition_does_not_end_the_game():
    """The issue's sequence: a real move from the repeated position, then the move list that
    continues after it is accepted (it was rejected as a game over: 'bestmove 0000')."""
    s = Session()
    s.send("uci")
    s.send("isready")
    s.send(f"position startpos moves {SHUFFLE} {SHUFFLE}")
    s.send("go nodes 20")
    s.wait()
    assert_searched_move(s, chess.Board())
    s.send(f"position startpos moves {SHUFFLE} {SHUFFLE} e2e4")
    s.send("go nodes 20")
    s.wait()
    board = chess.Board()
    board.push_uci("e2e4")
    assert_searched_move(s, board)
    assert "invalid position" not in s.out.getvalue()
    assert s.bestmoves()[0] != "0000" and s.bestmoves()[1] != "0000"


def test_a_kept_subtree_reaching_a_claimable_draw_is_searched_afresh():
    """The tree of the position one ply before holds the repetition as a terminal draw: the
    new search must not answer from that node (it gave an empty pv and an unsearched move)."""
    s = Session()
    s.send(f"position startpos moves {SHUFFLE} g1f3 g8f6 f3g1")
    s.send("go nodes 20")
    s.wait()
    s.send(f"position startpos moves {SHUFFLE} {SHUFFLE}")
    s.send("go nodes 20")
    s.wait()
    assert_searched_move(s, chess.Board())


def long_game_with_repetitions(seed=7):
    """A legal game of quiet piece moves after 1.e4 e5 (random, seeded) with threefold
    repetitions on the way and a fifty-move draw claimable at its end, never over by the
    automatic rules."""
    import random

    rng = random.Random(seed)
    board = chess.Board()
    for move in ["e2e4", "e7e5", *SHUFFLE.split(), *SHUFFLE.split()]:
        board.push_uci(move)
    def quiet_move():
        moves = [m for m in board.legal_moves
                 if not board.is_capture(m) and board.piece_type_at(m.from_square) != chess.PAWN]
        rng.shuffle(moves)
        for move in moves:
            board.push(move)
            if not board.is_game_over(claim_draw=False):
                return move
            board.pop()
        raise AssertionError("no quiet move left")

    def shuffle_back():
        """Both sides move a piece there and back, twice: a threefold repetition, if legal."""
        there = [quiet_move(), quiet_move()]
        back = [chess.Move(m.to_square, m.from_square) for m in there]
        if all(board.is_legal(m) for m in back[:1]):
            board.push(back[0])
            if board.is_legal(back[1]):
                board.push(back[1])
                for move in there + back:
                    board.push(move)
                return
            board.pop()

    threefolds = 1
    while board.halfmove_clock < 110:
        if board.halfmove_clock % 30 == 0:
            shuffle_back()
        else:
            quiet_move()
        threefolds += board.is_repetition(3)
    assert threefolds >= 2 and board.can_claim_fifty_moves() and not board.is_game_over()
    return board


def test_a_long_legal_game_with_repetitions_is_accepted():
    board = long_game_with_repetitions()
    s = Session()
    s.send("position startpos moves " + " ".join(m.uci() for m in board.move_stack))
    assert s.engine.board is not None and s.engine.board.move_stack == board.move_stack
    s.send("go nodes 20")
    s.wait()
    assert_searched_move(s, board)
    assert "invalid position" not in s.out.getvalue()


def test_fivefold_repetition_and_75_moves_end_the_game():
    s = Session()
    fivefold = f"position startpos moves {SHUFFLE} {SHUFFLE} {SHUFFLE} {SHUFFLE}"
    s.send(fivefold)
    assert s.engine.board is not None and s.engine.board.is_fivefold_repetition()
    s.send("go nodes 20")
    s.wait()
    assert s.bestmoves() == ["0000"]
    assert s.lines()[-2] == "info string the game is over in this position"
    s.send("position fen 8/8/8/4k3/8/8/R7/4K3 w - - 150 120")  # 75 moves
    s.send("go nodes 20")
    s.wait()
    assert s.bestmoves() == ["0000", "0000"]
    assert s.lines()[-2] == "info string the game is over in this position"
    s.send(fivefold + " e2e4")  # nothing is played after the game ended by itself
    assert s.engine.board is None
    assert "the game is over (fivefold repetition)" in s.lines()[-1]
    s.send("position fen 8/8/8/4k3/8/8/R7/4K3 w - - 140 120 moves a2a3")  # a claimable draw
    s.send("go nodes 20")
    s.wait()
    assert_searched_move(s, chess.Board("8/8/8/4k3/8/8/R7/4K3 b - - 141 120"))


def test_python_chess_sees_no_unexpected_output_and_moves_on_time(caplog):
    """After ``uci`` and ``isready`` only ``uciok`` / ``readyok`` (python-chess logs anything
    else as "Unexpected engine output"); ``Limit(time=0.2)`` takes about 0.2 s, the first
    move as well as the later ones (the network is warmed in the search thread at isready)."""
    engine = chess.engine.SimpleEngine.popen_uci(UCI_COMMAND, timeout=120)
    try:
        with caplog.at_level("WARNING", logger="chess.engine"):
            engine.ping()
            board, times = chess.Board(), []
            for _ in range(3):
                start = time.perf_counter()
                result = engine.play(board, chess.engine.Limit(time=0.2))
                times.append(time.perf_counter() - start)
                board.push(result.move)
        assert "Unexpected engine output" not in caplog.text, caplog.text
        assert all(0.17 <= t < 0.45 for t in times), times
    finally:
        engine.quit()


def test_multipv_lists_the_top_root_moves():
    s = Session("uci", "setoption name MultiPV value 3")
    assert any(line.startswith("option name MultiPV type spin default 1") for line in s.lines())
    s.send("position startpos")
    s.send("go nodes 200")
    s.wait()
    last = [line for line in s.infos() if " multipv " in line][-3:]
    ranks = [int(line.split(" multipv ")[1].split()[0]) for line in last]
    assert ranks == [1, 2, 3], s.lines()[-6:]
    first_moves = [line.split(" pv ")[1].split()[0] for line in last]
    assert len(set(first_moves)) == 3 and first_moves[0] == s.bestmoves()[-1]
    for move in first_moves:
        assert chess.Move.from_uci(move) in chess.Board().legal_moves


def test_multipv_through_python_chess():
    engine = chess.engine.SimpleEngine.popen_uci(UCI_COMMAND, timeout=120)
    try:
        infos = engine.analyse(chess.Board(), chess.engine.Limit(nodes=200), multipv=2)
        assert len(infos) == 2 and infos[0]["pv"][0] != infos[1]["pv"][0]
    finally:
        engine.quit()
