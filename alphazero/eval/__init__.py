"""Evaluation: agents, matches between them, the training ladder, Elo and labelled positions.

An agent (``Agent``) picks one move for each of a batch of positions, so ``play_match`` plays
many games at once and a network agent searches all its positions in one batch.
``parse_agent_spec`` builds any agent from the text ``alphazero match`` takes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphazero.eval.agents import Agent, RandomAgent, SolverAgent, parse_agent_spec
from alphazero.eval.elo import EloEstimate, elo_difference, elo_from_score, format_elo
from alphazero.eval.labelled import (
    LabelledPosition,
    MoveAccuracy,
    labelled_positions,
    optimal_share,
)
from alphazero.eval.matches import (
    GameRecord,
    MatchResult,
    agent_seed,
    match_pgn,
    play_match,
    play_matches,
    run_ladder,
)
from alphazero.eval.rollout import RolloutAgent
from alphazero.eval.search_agent import SearchAgent, cached_evaluate
from alphazero.eval.solver import ExactScores
from alphazero.eval.stats import Interval, bootstrap_mean, paired_bootstrap
from nets.lazy import lazy_attributes

if TYPE_CHECKING:
    from alphazero.eval.chess_oracle import (
        OraclePosition,
        OracleSet,
        oracle_sets,
        stockfish_gap_positions,
        wac_positions,
    )
    from alphazero.eval.stockfish import StockfishAgent, StockfishNotFoundError, find_stockfish

# The Stockfish agent's module imports python-chess's engine layer (asyncio, about 0.1 s) at
# its top, which only chess matches against Stockfish need; it loads on first access (PEP 562)
# so that `alphazero match connect4` and the training ladder do not pay for it. The chess
# oracle (labelled positions for the chess learned search) loads python-chess the same way.
_LAZY = {
    **{name: "alphazero.eval.chess_oracle" for name in (
        "OraclePosition", "OracleSet", "oracle_sets", "stockfish_gap_positions",
        "wac_positions")},
    "StockfishAgent": "alphazero.eval.stockfish",
    "StockfishNotFoundError": "alphazero.eval.stockfish",
    "find_stockfish": "alphazero.eval.stockfish",
}
__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)


__all__ = [
    "Agent",
    "EloEstimate",
    "ExactScores",
    "GameRecord",
    "Interval",
    "LabelledPosition",
    "MatchResult",
    "MoveAccuracy",
    "OraclePosition",
    "OracleSet",
    "RandomAgent",
    "RolloutAgent",
    "SearchAgent",
    "SolverAgent",
    "StockfishAgent",
    "StockfishNotFoundError",
    "agent_seed",
    "bootstrap_mean",
    "cached_evaluate",
    "elo_difference",
    "elo_from_score",
    "find_stockfish",
    "format_elo",
    "labelled_positions",
    "match_pgn",
    "optimal_share",
    "oracle_sets",
    "paired_bootstrap",
    "parse_agent_spec",
    "play_match",
    "play_matches",
    "run_ladder",
    "stockfish_gap_positions",
    "wac_positions",
]
