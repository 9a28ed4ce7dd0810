"""The chess evaluation oracle: stored Stockfish labels filtered by the gap, and WAC."""

import json

import chess
import numpy as np

from alphazero.eval.chess_oracle import (
    OracleSet,
    evaluation_keys,
    oracle_sets,
    position_key,
    stockfish_gap_positions,
    wac_positions,
)
from games.chess import encode_move
from nets.search_weights import LearnedSearch


def test_gap_filter_keeps_only_clear_best_moves():
    clear = stockfish_gap_positions()
    assert len(clear) == 114  # of 2,033 (alphazero/eval/data/chess/README.md)
    assert all(p.gap >= 200 and len(p.best) == 1 for p in clear)
    assert len(stockfish_gap_positions(min_gap=100)) > len(clear)
    assert len(stockfish_gap_positions(limit=5)) == 5
    board = clear[0].board
    assert chess.Move.from_uci(clear[0].best_uci[0]) in board.legal_moves


def test_wac_best_sets_are_the_bm_moves():
    wac = wac_positions()
    assert len(wac) == 300 and wac[0].name == "WAC.001"
    board, ops = chess.Board.from_epd(
        "2rr3k/pp3pp1/1nnqbN1p/3pN3/2pP4/2P3Q1/PPB4P/R4RK1 w - - bm Qg6; id \"WAC.001\";")
    assert wac[0].best == (encode_move(ops["bm"][0], board.turn),)
    assert any(len(p.best) > 1 for p in wac)  # several bm moves: any of them counts


def test_oracle_set_scores_actions():
    sets = oracle_sets(limit=4)
    wac = sets["wac"]
    best = np.array([p.best[0] for p in wac.positions])
    assert wac.solved(best).tolist() == [1.0] * 4
    wrong = np.array([next(encode_move(m, p.board.turn) for m in p.board.legal_moves
                           if encode_move(m, p.board.turn) not in p.best)
                      for p in wac.positions])
    assert wac.solved(wrong).sum() == 0
    assert wac.solved(np.full(4, -1)).sum() == 0
    assert isinstance(OracleSet.of("x", wac.positions[:1]), OracleSet)


def test_evaluation_keys_cover_both_sets():
    keys = evaluation_keys()
    assert len(keys) > 2000
    assert position_key(wac_positions(limit=1)[0].board) in keys


def test_bench_untrained_learned_search_equals_puct(tmp_path, capsys, benchmark_script):
    """Tiny budgets and sets: the untrained learned search plays exactly PUCT's moves."""
    weights = tmp_path / "search.pt"
    LearnedSearch.fresh(0).save(weights)
    out = tmp_path / "bench.json"
    bench = benchmark_script("bench_chess_learned")
    assert bench.main(["--weights", str(weights), "--budgets", "2", "--limit", "3",
                       "--resamples", "50", "--out", str(out)]) == 0
    assert "learned N - PUCT 2N" in capsys.readouterr().out
    result = json.loads(out.read_text())
    for name in ("heldout", "wac"):
        row = result["sets"][name]["rows"][0]
        assert row["positions"] == 3 and row["vs_puct_n"]["diff"] == 0.0
        solved = result["sets"][name]["solved"]
        assert solved["learned@2"] == solved["puct@2"] and len(solved["puct@4"]) == 3
