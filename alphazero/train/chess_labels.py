"""Labels for the chess position format: from a Stockfish MultiPV analysis to a record, and
from records to network inputs and training targets (batched numpy, no boards).

    record = label_record(board, engine.analyse(board, Limit(nodes=20_000), multipv=5),
                          temperature=1.0, repetitions=...)
    obs = observations(records)                        # float32[B, 21, 8, 8]
    actions, probs = policy_targets(records)           # int64[B, 8], float32[B, 8]
    values = value_targets(records, eval_weight=0.75)  # float32[B] in [-1, 1]

The policy target is a softmax over the MultiPV moves' scores with a temperature in pawns (100
centipawns a unit; mates mapped by ``softmax_centipawns``); the value target blends the WDL of
the best score (Stockfish 15.1's model, as ``alphazero.pretrain`` uses for PGN evals) with the
game result, by a weight the trainer chooses. The format is in ``alphazero.train.chess_data``.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess
import chess.engine
import numpy as np

from alphazero.train.chess_data import (
    CP_LIMIT,
    MATE_SCORE,
    NO_ACTION,
    POLICY_SLOTS,
    RECORD_DTYPE,
    encode_score,
    pack_board,
    record_board,
)
from games.chess import NUM_ACTIONS, NUM_PLANES, encode_board, encode_move


def softmax_centipawns(codes: np.ndarray) -> np.ndarray:
    """float64[...] centipawns the policy softmax sees for score codes int16[...].

    Ordinary scores are clamped to +-4000; a mate in n moves counts 10000 - 50 n (n capped at
    100), being mated in n counts -(10000 - 50 n): every mate beats every ordinary score, a
    faster mate beats a slower one by half a pawn a move, a slower defeat beats a faster one.
    """
    codes = np.asarray(codes, dtype=np.int64)
    mate_moves = np.minimum(MATE_SCORE - np.abs(codes), 100)
    mate_cp = np.sign(codes) * (10000.0 - 50.0 * mate_moves)
    return np.where(np.abs(codes) > CP_LIMIT, mate_cp, np.clip(codes, -4000, 4000).astype(float))


def policy_from_scores(codes: np.ndarray, temperature: float) -> np.ndarray:
    """float32[k] probabilities: a softmax over the moves' scores int16[k] (``temperature`` in
    pawns: a move one temperature worse gets 1/e the probability of the best)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0 pawns, not {temperature}")
    logits = softmax_centipawns(codes) / (100.0 * temperature)
    weights = np.exp(logits - logits.max())
    return (weights / weights.sum()).astype(np.float32)


def label_record(board: chess.Board, lines: Sequence[chess.engine.InfoDict], *,
                 temperature: float, repetitions: int = 0, wdl_model: str = "sf15.1"
                 ) -> np.ndarray | None:
    """One record (RECORD_DTYPE, 0-d) labelling ``board`` from a MultiPV analysis.

    ``lines``: python-chess's ``analyse(..., multipv=k)`` result, best line first; lines without
    a move or a score are skipped, and at most POLICY_SLOTS are kept. The policy is
    ``policy_from_scores`` over the lines' scores, the value the WDL of the best line's score.
    Game fields (result, played move, metadata) are left for the caller. Returns None when no
    line has a move.
    """
    moves: list[int] = []
    codes: list[int] = []
    depth = 0
    best: chess.engine.Score | None = None
    for line in lines:
        pv, score = line.get("pv"), line.get("score")
        if not pv or score is None or len(moves) == POLICY_SLOTS:
            continue
        action = encode_move(pv[0], board.turn)
        if action in moves:
            continue
        moves.append(action)
        codes.append(encode_score(score.relative))
        if len(moves) == 1:
            depth = int(line.get("depth", 0))
            best = score.relative
    if best is None:
        return None
    record = np.zeros((), dtype=RECORD_DTYPE)
    pack_board(board, record)
    record["repetitions"] = min(repetitions, 2)
    k = len(moves)
    record["policy_actions"] = NO_ACTION
    record["policy_actions"][:k] = moves
    record["policy_scores"][:k] = codes
    record["policy_probs"][:k] = policy_from_scores(np.array(codes), temperature)
    record["score"] = codes[0]
    wdl = best.wdl(model=wdl_model, ply=board.ply())
    record["wdl"] = (wdl.wins, wdl.draws, wdl.losses)
    record["depth"] = min(depth, 255)
    record["played_action"] = NO_ACTION
    return record


def observations(records: np.ndarray) -> np.ndarray:
    """float32[N, 21, 8, 8] network inputs of records[N], equal to ``encode_board`` of each
    position played out with its history (repetition planes from ``repetitions``)."""
    n = len(records)
    occupied = records["occupied"].astype("<u8").view(np.uint8).reshape(n, 8)
    on = np.unpackbits(occupied, axis=1, bitorder="little").astype(bool)  # [N, 64] by square
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = records["pieces"] & 15
    nibbles[:, 1::2] = records["pieces"] >> 4
    order = np.clip(np.cumsum(on, axis=1) - 1, 0, 31)  # [N, 64] nibble index of each square
    codes = np.take_along_axis(nibbles, order, axis=1).astype(np.int64)  # [N, 64]
    black = records["turn"] == 0  # [N]
    planes = (codes + 6 * black[:, None]) % 12  # own pieces first
    squares = np.arange(64)[None, :] ^ (56 * black[:, None])  # ranks flipped for Black
    obs = np.zeros((n, NUM_PLANES, 64), dtype=np.float32)
    rows, cols = np.nonzero(on)
    obs[rows, planes[rows, cols], squares[rows, cols]] = 1.0
    obs = obs.reshape(n, NUM_PLANES, 8, 8)  # [N, plane, rank, file]
    castling = records["castling"].astype(np.int64)
    own_shift = np.where(black, 2, 0)  # White's rights are bits 0-1, Black's bits 2-3
    for plane, shift, side in ((15, 0, 0), (16, 1, 0), (17, 0, 2), (18, 1, 2)):
        bits = castling >> ((own_shift + side) % 4 + shift) & 1
        obs[:, plane] = bits[:, None, None]
    obs[:, 12] = (records["repetitions"] >= 1)[:, None, None]
    obs[:, 13] = (records["repetitions"] >= 2)[:, None, None]
    obs[:, 14] = (~black)[:, None, None]
    obs[:, 19] = (records["halfmove_clock"] / 100.0)[:, None, None]
    obs[:, 20] = 1.0
    return obs


def record_observation(record: np.ndarray) -> np.ndarray:
    """float32[21, 8, 8] of one record through ``encode_board`` (the reference for
    ``observations``), with the stored repetition count in planes 12-13."""
    obs = encode_board(record_board(record))
    obs[12] = record["repetitions"] >= 1
    obs[13] = record["repetitions"] >= 2
    return obs


def policy_targets(records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(actions int64[N, 8], probabilities float32[N, 8]): unused slots have action -1 and
    probability 0; each row's probabilities sum to 1 (renormalised from float16)."""
    actions = records["policy_actions"].astype(np.int64)
    unused = actions == NO_ACTION
    actions[unused] = -1
    probs = np.where(unused, 0.0, records["policy_probs"].astype(np.float32))
    return actions, probs / probs.sum(axis=1, keepdims=True)


def dense_policy(records: np.ndarray) -> np.ndarray:
    """float32[N, 4672] policy targets."""
    actions, probs = policy_targets(records)
    dense = np.zeros((len(records), NUM_ACTIONS), dtype=np.float32)
    rows, slots = np.nonzero(actions >= 0)
    dense[rows, actions[rows, slots]] = probs[rows, slots]
    return dense


def wdl_targets(records: np.ndarray, eval_weight: float) -> np.ndarray:
    """float32[N, 3] win/draw/loss for the side to move: ``eval_weight`` times the score's WDL
    plus ``1 - eval_weight`` times the game result as a one-hot."""
    if not 0.0 <= eval_weight <= 1.0:
        raise ValueError(f"eval_weight must be in [0, 1], not {eval_weight}")
    score = records["wdl"].astype(np.float32) / 1000.0
    result = np.eye(3, dtype=np.float32)[1 - records["result"].astype(np.int64)]
    return eval_weight * score + (1.0 - eval_weight) * result


def value_targets(records: np.ndarray, eval_weight: float) -> np.ndarray:
    """float32[N] expected outcome in [-1, 1] for the side to move (win - loss of
    ``wdl_targets``), the blend ``alphazero.pretrain`` uses for PGN evals."""
    wdl = wdl_targets(records, eval_weight)
    return wdl[:, 0] - wdl[:, 2]
