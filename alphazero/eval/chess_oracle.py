"""Chess positions with a known best-move set: the evaluation oracle of the learned search.

Two sets, both read from stored labels (no engine runs here):

* ``stockfish_gap_positions``: positions of a labelled position file
  (``alphazero.train.chess_data``; by default the held-out ``alphazero/eval/data/chess/
  stockfish_heldout.bin``) where the best MultiPV move is at least ``min_gap`` centipawns
  better than the second. Mates count as ``chess_labels.softmax_centipawns`` maps them (a
  mate beats every ordinary score; a faster mate beats a slower one by 50 cp a move).
  Positions with fewer than two labelled moves tell nothing about a gap and are skipped.
* ``wac_positions``: an EPD file with ``bm`` operations (Win At Chess); the best-move set is
  the ``bm`` moves (a position is solved when the move played is any of them).

Each is a list of ``OraclePosition``; ``OracleSet`` scores a search's actions against them.

    >>> positions = wac_positions(limit=2)
    >>> positions[0].name, positions[0].best_uci
    ('WAC.001', ('g3g6',))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import chess
import numpy as np

from alphazero.train.chess_data import NO_ACTION, iter_positions
from alphazero.train.chess_labels import softmax_centipawns
from games.chess import NUM_ACTIONS, decode_action, encode_move

DATA = Path(__file__).resolve().parent / "data" / "chess"
"""Shipped with the package (package data): the oracle works from a wheel too."""
HELDOUT_FILE = DATA / "stockfish_heldout.bin"
"""Held out: never train on it (see alphazero/eval/data/chess/README.md)."""
WAC_FILE = DATA / "wacnew.epd"


@dataclass(frozen=True)
class OraclePosition:
    """One position and the moves that count as best there."""

    name: str  # "heldout:123" (index in the file) or the EPD id ("WAC.001")
    board: chess.Board  # no move history
    best: tuple[int, ...]  # actions (``games.chess`` encoding, side to move's view)
    gap: float  # centipawns between the best and second labelled move (nan: unknown)

    @property
    def best_uci(self) -> tuple[str, ...]:
        return tuple(decode_action(self.board, a).uci() for a in self.best)


def position_key(board: chess.Board) -> str:
    """Pieces, side to move, castling and en passant (no move counters): equal for the same
    position reached by different games."""
    return board.epd()


def stockfish_gap_positions(path: str | os.PathLike = HELDOUT_FILE, *, min_gap: float = 200.0,
                            limit: int | None = None) -> list[OraclePosition]:
    """Positions of ``path`` whose best labelled move beats the second by >= ``min_gap`` cp."""
    out: list[OraclePosition] = []
    for index, position in enumerate(iter_positions(path)):
        record = position.record
        used = record["policy_actions"] != NO_ACTION
        if used.sum() < 2 or position.board.is_game_over(claim_draw=False):
            continue
        cp = softmax_centipawns(record["policy_scores"][used])
        order = np.argsort(-cp, kind="stable")
        gap = float(cp[order[0]] - cp[order[1]])
        if gap >= min_gap:
            best = int(record["policy_actions"][used][order[0]])
            out.append(OraclePosition(f"heldout:{index}", position.board, (best,), gap))
            if limit is not None and len(out) == limit:
                break
    return out


def wac_positions(path: str | os.PathLike = WAC_FILE, *, limit: int | None = None
                  ) -> list[OraclePosition]:
    """The EPD positions of ``path`` that have ``bm`` moves, with those as the best set."""
    out: list[OraclePosition] = []
    for number, line in enumerate(Path(path).read_text().splitlines()):
        if not line.strip():
            continue
        board, ops = chess.Board.from_epd(line)
        moves = ops.get("bm") or []
        if not moves:
            continue
        name = str(ops.get("id", f"line {number + 1}"))
        best = tuple(dict.fromkeys(encode_move(m, board.turn) for m in moves))
        out.append(OraclePosition(name, board, best, float("nan")))
        if limit is not None and len(out) == limit:
            break
    return out


@dataclass
class OracleSet:
    """Oracle positions as arrays, for scoring many searches of them."""

    name: str
    positions: list[OraclePosition]
    best: np.ndarray  # bool[P, A], the action is in the best-move set

    @classmethod
    def of(cls, name: str, positions: list[OraclePosition]) -> OracleSet:
        best = np.zeros((len(positions), NUM_ACTIONS), dtype=bool)
        for i, p in enumerate(positions):
            best[i, list(p.best)] = True
        return cls(name, positions, best)

    @property
    def states(self) -> list[chess.Board]:
        return [p.board.copy() for p in self.positions]

    def keys(self) -> set[str]:
        return {position_key(p.board) for p in self.positions}

    def solved(self, action: np.ndarray) -> np.ndarray:
        """float[P]: 1 where ``action`` (int[P], -1 none) is a best move, else 0."""
        action = np.asarray(action)
        rows = np.arange(len(action))
        return np.where(action >= 0, self.best[rows, np.maximum(action, 0)], False).astype(float)


def oracle_sets(*, min_gap: float = 200.0, limit: int | None = None) -> dict[str, OracleSet]:
    """The two evaluation sets by name: ``heldout`` (the gap filter at ``min_gap``) and
    ``wac``."""
    return {"heldout": OracleSet.of("heldout",
                                    stockfish_gap_positions(min_gap=min_gap, limit=limit)),
            "wac": OracleSet.of("wac", wac_positions(limit=limit))}


def evaluation_keys() -> set[str]:
    """``position_key`` of every position of both evaluation sets (all held-out positions,
    not only the filtered ones): what training must never see."""
    keys = {position_key(p.board) for p in iter_positions(HELDOUT_FILE)}
    return keys | {position_key(p.board) for p in wac_positions()}
