"""Stockfish as an opponent: finding the binary, the agent, the training-game generator."""

import random

import chess
import pytest

from alphazero.eval import stockfish as sf
from games.chess import GAME


def _binary_or_none():
    try:
        return sf.find_stockfish()
    except sf.StockfishNotFoundError:
        return None


BINARY = _binary_or_none()
needs_stockfish = pytest.mark.skipif(
    BINARY is None, reason="Stockfish is not installed (apt-get install stockfish, or set "
    "STOCKFISH_PATH)")


def test_missing_binary_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("STOCKFISH_PATH", raising=False)
    monkeypatch.setattr(sf, "FALLBACK_PATHS", (str(tmp_path / "nowhere"),))
    with pytest.raises(sf.StockfishNotFoundError, match="apt-get install stockfish"):
        sf.find_stockfish()
    with pytest.raises(sf.StockfishNotFoundError):
        sf.StockfishAgent(0)


def test_env_var_wins(monkeypatch, tmp_path):
    fake = tmp_path / "my-stockfish"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("STOCKFISH_PATH", str(fake))
    assert sf.find_stockfish() == str(fake)


def test_bad_levels_and_limits_are_value_errors():
    for kwargs in ({"level": -1}, {"level": 21}, {"level": 3, "nodes": 0},
                   {"level": 3, "movetime": 0}):
        with pytest.raises(ValueError):
            sf.StockfishAgent(**kwargs)


@needs_stockfish
def test_agent_plays_legal_moves_for_a_batch():
    boards = [chess.Board(), chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R "
                                         "w KQkq - 2 3")]
    with sf.StockfishAgent(0, nodes=200) as agent:
        assert agent.name == "stockfish:0"
        agent.reset()
        actions = agent.select_moves(boards)
        for board, action in zip(boards, actions):
            assert GAME.legal_mask(board)[action]
        # Mate in one is found even at the lowest level with a few nodes.
        mate = chess.Board("6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1")
        agent.limit = sf.chess.engine.Limit(nodes=5000)
        assert agent.select_move(mate) in mate.legal_moves


@needs_stockfish
def test_make_stockfish_pgn_writes_games_with_random_plies(tmp_path, benchmark_script):
    module = benchmark_script("make_stockfish_pgn")
    engine = sf.open_engine()
    try:
        game = module.play_game(engine, random.Random(1), levels=[0, 20], nodes=(50, 100),
                                random_plies=4, max_plies=30)
    finally:
        engine.quit()
    assert game.headers["Result"] in ("1-0", "0-1", "1/2-1/2")
    assert 0 <= int(game.headers["RandomPlies"]) <= 4
    assert game.end().ply() <= 30
    assert "RandomMoves" not in game.headers  # no blunders unless asked for


@needs_stockfish
def test_make_stockfish_pgn_lists_its_random_moves_after_the_opening(benchmark_script):
    module = benchmark_script("make_stockfish_pgn")
    engine = sf.open_engine()
    try:
        every = module.play_game(engine, random.Random(2), levels=[20], nodes=(50, 100),
                                 random_plies=2, max_plies=12, blunder_rate=1.0)
        some = module.play_game(engine, random.Random(3), levels=[20], nodes=(50, 100),
                                random_plies=0, max_plies=60, blunder_rate=0.3)
    finally:
        engine.quit()
    opening = int(every.headers["RandomPlies"])
    plies = every.end().ply()
    assert every.headers["RandomMoves"].split() == [str(p) for p in range(opening, plies)]
    listed = [int(p) for p in some.headers["RandomMoves"].split()]
    assert listed == sorted(set(listed)) and 0 < len(listed) < some.end().ply()
    # Stockfish's own moves carry an eval of the position they were searched from; a random
    # move was searched by nobody, so the position before it has none.
    nodes = [some, *some.mainline()]
    for ply in listed:
        assert nodes[ply].eval() is None
    assert any(node.eval() is not None for node in nodes)
