"""Stockfish-labelled chess positions in a compact, streamed, appendable binary file.

    with PositionWriter("data/chess_positions.bin", meta={"multipv": 5}) as writer:
        writer.write_game(writer.next_game, records)  # records: RECORD_DTYPE[n], one game
    count_positions("data/chess_positions.bin")
    for records in iter_batches("data/chess_positions.bin", 1024):  # RECORD_DTYPE[<= 1024]
        ...  # alphazero.train.chess_labels turns them into network inputs and targets
    for position in iter_positions("data/chess_positions.bin"):  # ChessPosition, decoded
        position.board, position.policy_actions, position.policy_probs, position.value(0.75)

Layout (little-endian). A file header, then one chunk per game, appended as games finish::

    header  8s magic b"AZCHPOS\\0", u16 version, u16 record size, u32 n, n bytes of JSON (meta)
    chunk   4s magic b"GAME", u32 game index, u32 record count, u32 CRC-32 of the records,
            then count fixed-size records (RECORD_DTYPE, 112 bytes)

A record holds the position packed (occupancy bitboard + a 4-bit piece code per occupied square,
side to move, castling rights, en-passant square, clocks), how many times it occurred before
in its game (the only history ``games.chess.encode_board`` reads: planes 12-13), up to
``POLICY_SLOTS`` target moves (action in the 4,672-slot encoding from the side to move's view,
probability, Stockfish score after the move), the best score and its WDL (sf15.1 model) and
the game's result from the side to move, stored apart so a trainer picks the blend, and
metadata (game index, ply, skill levels and node budgets of the players, label nodes, depth).

Scores are int16 centipawns from the side to move, clamped to +-CP_LIMIT; a mate in n moves is
``MATE_SCORE - n`` (being mated in n: ``-(MATE_SCORE - n)``), python-chess's
``score(mate_score=MATE_SCORE)``. A killed writer leaves at most one torn chunk at the end:
readers stop before it and ``PositionWriter`` cuts it off before appending. Anything else that
is not this format (bad magic, unknown version, a length past its bound, a CRC mismatch, an
out-of-range field) raises ``PositionFileError``, a ValueError; no length read from a file
allocates more than its bound.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import chess
import chess.engine
import numpy as np

from games.chess import NUM_ACTIONS

try:
    import fcntl
except ImportError:  # not POSIX: no lock against two writers
    fcntl = None

MAGIC = b"AZCHPOS\x00"
CHUNK_MAGIC = b"GAME"
VERSION = 1
POLICY_SLOTS = 8
NO_ACTION = 0xFFFF  # an unused policy slot, or no move played
NO_SQUARE = 255  # no en-passant square
MATE_SCORE = 32000
CP_LIMIT = 20000
MAX_MATE_MOVES = 500
MAX_META_BYTES = 1 << 16
MAX_CHUNK_RECORDS = 4096  # records per game; bounds every chunk's allocation (~460 KB)

FLAG_RANDOM_MOVE = 1  # the move played from here was random (opening ply or blunder)
FLAG_OPENING = 2  # the position lies inside the game's random opening
FLAG_ADJUDICATED = 4  # the game hit its ply limit and was scored a draw

RECORD_DTYPE = np.dtype([
    ("occupied", "<u8"),  # bit s set: a piece on square s (a1 = 0, h8 = 63)
    ("pieces", "u1", (16,)),  # piece codes of occupied squares, ascending, low nibble first:
    #                            0-5 White P N B R Q K, 6-11 Black P N B R Q K
    ("turn", "u1"),  # 1 White to move, 0 Black
    ("castling", "u1"),  # 1 White O-O, 2 White O-O-O, 4 Black O-O, 8 Black O-O-O
    ("ep_square", "u1"),  # python-chess Board.ep_square, NO_SQUARE for none
    ("halfmove_clock", "u1"),
    ("fullmove_number", "<u2"),
    ("repetitions", "u1"),  # times the position occurred before in its game: 0, 1, 2 (2+)
    ("flags", "u1"),  # FLAG_* bits
    ("policy_actions", "<u2", (POLICY_SLOTS,)),  # side to move's view; NO_ACTION when unused
    ("policy_probs", "<f2", (POLICY_SLOTS,)),  # sum to 1 over the used slots
    ("policy_scores", "<i2", (POLICY_SLOTS,)),  # score of each target move (coded as above)
    ("score", "<i2"),  # best score
    ("wdl", "<u2", (3,)),  # win, draw, loss per mille of the best score, side to move
    ("result", "i1"),  # game result from the side to move: 1, 0, -1
    ("played_action", "<u2"),  # the move the game went on with (NO_ACTION: none)
    ("depth", "u1"),  # depth Stockfish reached on the best line
    ("ply", "<u2"),  # plies played in the game before this position
    ("game", "<u4"),  # game index (as in the chunk header)
    ("skill", "u1", (2,)),  # Skill Level of White, Black
    ("play_nodes", "<u4", (2,)),  # node budget per move of White, Black
    ("label_nodes", "<u4"),  # node budget of the labelling analysis
])
_HEADER = struct.Struct("<8sHHI")
_CHUNK = struct.Struct("<4sIII")
_CASTLING_ROOKS = ((1, chess.BB_H1), (2, chess.BB_A1), (4, chess.BB_H8), (8, chess.BB_A8))


class PositionFileError(ValueError):
    """A file that is not a valid position file (or not this version of it)."""


# ---------------------------------------------------------------------------------------------
# Scores, labels and records


def encode_score(score: chess.engine.Score) -> int:
    """int16 code of a score from the side to move (see the module docstring)."""
    mate = score.mate()
    if mate is None:
        return max(-CP_LIMIT, min(CP_LIMIT, int(score.score())))
    moves = min(abs(mate), MAX_MATE_MOVES)
    return MATE_SCORE - moves if mate > 0 else -(MATE_SCORE - moves)


def decode_score(code: int) -> chess.engine.Score:
    """The score of an int16 code: ``Cp`` or ``Mate``."""
    code = int(code)
    if abs(code) > CP_LIMIT:
        moves = MATE_SCORE - abs(code)
        return chess.engine.Mate(moves if code > 0 else -moves)
    return chess.engine.Cp(code)


def pack_board(board: chess.Board, record: np.ndarray) -> None:
    """Write ``board``'s position into the board fields of ``record`` (one RECORD_DTYPE)."""
    nibbles = bytearray(16)
    for index, square in enumerate(chess.scan_forward(board.occupied)):
        piece = board.piece_at(square)
        code = piece.piece_type - 1 + (0 if piece.color == chess.WHITE else 6)
        nibbles[index // 2] |= code << (4 * (index % 2))
    record["occupied"] = board.occupied
    record["pieces"] = np.frombuffer(bytes(nibbles), dtype=np.uint8)
    record["turn"] = int(board.turn)
    record["castling"] = sum(bit for bit, rook in _CASTLING_ROOKS if board.castling_rights & rook)
    record["ep_square"] = NO_SQUARE if board.ep_square is None else board.ep_square
    if board.halfmove_clock > 255 or not 1 <= board.fullmove_number <= 0xFFFF:
        raise ValueError(f"clocks out of range for the format: {board.fen()}")
    record["halfmove_clock"] = board.halfmove_clock
    record["fullmove_number"] = board.fullmove_number


def record_board(record: np.ndarray, *, check: bool = True) -> chess.Board:
    """The position of one record (a 0-d RECORD_DTYPE array) as a ``chess.Board`` without move
    history (its ``repetitions`` live in the record: see ``record_observation``). Raises
    PositionFileError for fields out of range (``check``) or an invalid position."""
    if check:
        _check(np.asarray(record, dtype=RECORD_DTYPE).reshape(1))
    occupied = int(record["occupied"])
    nibbles = bytes(record["pieces"])
    board = chess.Board.empty()
    pieces = {}
    for index, square in enumerate(chess.scan_forward(occupied)):
        code = nibbles[index // 2] >> (4 * (index % 2)) & 15
        pieces[square] = chess.Piece(code % 6 + 1, code < 6)
    board.set_piece_map(pieces)
    board.turn = bool(record["turn"])
    rights = int(record["castling"])
    board.castling_rights = sum(rook for bit, rook in _CASTLING_ROOKS if rights & bit)
    ep = int(record["ep_square"])
    board.ep_square = None if ep == NO_SQUARE else ep
    board.halfmove_clock = int(record["halfmove_clock"])
    board.fullmove_number = int(record["fullmove_number"])
    if not board.is_valid():
        problems = ", ".join(flag.name.lower() for flag in board.status())
        raise PositionFileError(f"record holds an invalid position ({problems}): {board.fen()}")
    return board


def _check(records: np.ndarray) -> None:
    """Raise PositionFileError unless every field of records[N] is in range."""
    on = np.unpackbits(records["occupied"].astype("<u8").view(np.uint8).reshape(-1, 8), axis=1)
    counts = on.sum(axis=1)
    nibbles = np.concatenate([records["pieces"] & 15, records["pieces"] >> 4], axis=1)
    order = np.concatenate([np.arange(0, 32, 2), np.arange(1, 32, 2)])
    used = order[None, :] < counts[:, None]
    actions = records["policy_actions"]
    used_slots = actions != NO_ACTION
    probs = records["policy_probs"].astype(np.float32)
    problems = {
        "more than 32 pieces": counts > 32,
        "a piece code above 11": (used & (nibbles > 11)).any(axis=1),
        "a side to move other than 0 or 1": records["turn"] > 1,
        "castling bits above 15": records["castling"] > 15,
        "an en-passant square off the board": (records["ep_square"] > 63)
        & (records["ep_square"] != NO_SQUARE),
        "a repetition count above 2": records["repetitions"] > 2,
        "a policy action out of range": (used_slots & (actions >= NUM_ACTIONS)).any(axis=1),
        "no policy move": ~used_slots.any(axis=1),
        "a bad policy probability": (used_slots & ~(np.isfinite(probs) & (probs >= 0))).any(axis=1)
        | (np.abs(np.where(used_slots, probs, 0).sum(axis=1) - 1) > 0.01),
        "a WDL not summing to 1000": records["wdl"].astype(np.int64).sum(axis=1) != 1000,
        "a result other than -1, 0, 1": np.abs(records["result"].astype(np.int64)) > 1,
        "a played action out of range": (records["played_action"] >= NUM_ACTIONS)
        & (records["played_action"] != NO_ACTION),
    }
    for problem, bad in problems.items():
        if bad.any():
            raise PositionFileError(f"record {int(np.argmax(bad))} of a chunk has {problem}")


# ---------------------------------------------------------------------------------------------
# Files


@dataclass(frozen=True)
class FileSummary:
    """What a scan of a position file found."""

    meta: dict
    positions: int
    games: int
    next_game: int  # one past the highest game index (0 for no games)
    end: int  # byte offset just past the last complete chunk
    torn: bool  # bytes after ``end`` (a chunk a killed writer did not finish)


def _read_header(handle) -> tuple[dict, int]:
    """(meta, offset of the first chunk); raises PositionFileError."""
    raw = handle.read(_HEADER.size)
    if len(raw) < _HEADER.size or raw[:8] != MAGIC:
        raise PositionFileError(f"not a chess position file (magic {raw[:8]!r}, not {MAGIC!r})")
    _, version, record_size, meta_bytes = _HEADER.unpack(raw)
    if version != VERSION:
        raise PositionFileError(f"position file version {version}; this reader knows {VERSION}")
    if record_size != RECORD_DTYPE.itemsize:
        raise PositionFileError(f"record size {record_size}, not {RECORD_DTYPE.itemsize}")
    if meta_bytes > MAX_META_BYTES:
        raise PositionFileError(f"header metadata of {meta_bytes} bytes (at most "
                                f"{MAX_META_BYTES})")
    text = handle.read(meta_bytes)
    try:
        meta = json.loads(text.decode("utf-8")) if len(text) == meta_bytes else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        meta = None
    if not isinstance(meta, dict):
        raise PositionFileError("header metadata is not a complete JSON object")
    return meta, _HEADER.size + meta_bytes


def _chunks(handle, offset: int, *, payload: bool) -> Iterator[tuple[int, int, bytes | None]]:
    """(game, chunk end offset, record bytes or None) of each complete chunk from ``offset``;
    stops silently at a torn final chunk."""
    size = os.fstat(handle.fileno()).st_size
    while offset + _CHUNK.size <= size:
        handle.seek(offset)
        magic, game, count, crc = _CHUNK.unpack(handle.read(_CHUNK.size))
        if magic != CHUNK_MAGIC:
            raise PositionFileError(f"corrupt chunk at byte {offset} (magic {magic!r})")
        if count > MAX_CHUNK_RECORDS:
            raise PositionFileError(f"chunk at byte {offset} claims {count} records (at most "
                                    f"{MAX_CHUNK_RECORDS})")
        end = offset + _CHUNK.size + count * RECORD_DTYPE.itemsize
        if end > size:
            return  # torn: the writer was killed while writing it
        data = None
        if payload:
            data = handle.read(count * RECORD_DTYPE.itemsize)
            if zlib.crc32(data) != crc:
                raise PositionFileError(f"chunk at byte {offset} fails its CRC check")
        yield game, end, data
        offset = end


def scan(path: str | os.PathLike) -> FileSummary:
    """Walk the chunk headers of ``path`` (records are not read or checked)."""
    with open(path, "rb") as handle:
        meta, offset = _read_header(handle)
        positions = games = next_game = 0
        end = offset
        for game, end, _ in _chunks(handle, offset, payload=False):
            positions += (end - offset - _CHUNK.size) // RECORD_DTYPE.itemsize
            games += 1
            next_game = max(next_game, game + 1)
            offset = end
        torn = os.fstat(handle.fileno()).st_size > end
    return FileSummary(meta, positions, games, next_game, end, torn)


def count_positions(path: str | os.PathLike) -> int:
    """Number of complete records in ``path``."""
    return scan(path).positions


def iter_games(path: str | os.PathLike) -> Iterator[tuple[int, np.ndarray]]:
    """(game index, records RECORD_DTYPE[n]) per game in file order, CRC- and range-checked."""
    with open(path, "rb") as handle:
        _, offset = _read_header(handle)
        for game, _, data in _chunks(handle, offset, payload=True):
            records = np.frombuffer(data, dtype=RECORD_DTYPE)
            if len(records):
                _check(records)
                if (records["game"] != game).any():
                    raise PositionFileError(f"records of game {game} name another game")
            yield game, records


def iter_batches(path: str | os.PathLike, batch_size: int) -> Iterator[np.ndarray]:
    """RECORD_DTYPE[batch_size] arrays in file order (the last one may be shorter)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    pending: list[np.ndarray] = []
    held = 0
    for _, records in iter_games(path):
        pending.append(records)
        held += len(records)
        while held >= batch_size:
            joined = np.concatenate(pending)
            yield joined[:batch_size]
            pending, held = [joined[batch_size:]], held - batch_size
    if held:
        yield np.concatenate(pending)


def read_records(path: str | os.PathLike, limit: int | None = None) -> np.ndarray:
    """All records of ``path`` (at most ``limit``) as one RECORD_DTYPE[N] array."""
    parts, held = [], 0
    for _, records in iter_games(path):
        parts.append(records)
        held += len(records)
        if limit is not None and held >= limit:
            break
    joined = np.concatenate(parts) if parts else np.zeros(0, dtype=RECORD_DTYPE)
    return joined if limit is None else joined[:limit]


@dataclass(frozen=True)
class ChessPosition:
    """One labelled position, decoded. Policy arrays are [k], k <= POLICY_SLOTS."""

    board: chess.Board  # no move history: see ``repetitions``
    repetitions: int
    policy_actions: np.ndarray  # int64[k]
    policy_probs: np.ndarray  # float32[k], sums to 1
    score: chess.engine.Score  # best score, side to move
    wdl: np.ndarray  # float32[3] win, draw, loss probabilities of ``score``
    result: int  # game result from the side to move
    record: np.ndarray  # the raw record, a 0-d RECORD_DTYPE array (metadata, move scores)

    def value(self, eval_weight: float = 0.75) -> float:
        """Value target in [-1, 1]: ``eval_weight`` times the score's win - loss plus
        ``1 - eval_weight`` times the result (``chess_labels.value_targets`` for a batch)."""
        return eval_weight * float(self.wdl[0] - self.wdl[2]) + (1 - eval_weight) * self.result


def iter_positions(path: str | os.PathLike) -> Iterator[ChessPosition]:
    """Every position of ``path`` decoded, in file order."""
    for _, records in iter_games(path):
        for i in range(len(records)):
            record = records[i:i + 1].reshape(())  # a 0-d view
            used = record["policy_actions"] != NO_ACTION
            probs = record["policy_probs"][used].astype(np.float32)
            yield ChessPosition(
                board=record_board(record, check=False), repetitions=int(record["repetitions"]),
                policy_actions=record["policy_actions"][used].astype(np.int64),
                policy_probs=probs / probs.sum(), score=decode_score(record["score"]),
                wdl=record["wdl"].astype(np.float32) / 1000.0, result=int(record["result"]),
                record=record)


class PositionWriter:
    """Appends games to a position file, creating it (with ``meta``) if it does not exist.

    An existing file keeps its header (``meta`` is then ignored: compare ``self.meta``); a torn
    final chunk is cut off first. A second writer on the same file is refused.
    """

    def __init__(self, path: str | os.PathLike, meta: dict | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "a+b")  # noqa: SIM115 (held until close)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise PositionFileError(f"{self.path} is being written by another process") \
                        from None
            if os.fstat(self._handle.fileno()).st_size == 0:
                text = json.dumps(meta or {}, sort_keys=True).encode("utf-8")
                if len(text) > MAX_META_BYTES:
                    raise ValueError(f"meta is {len(text)} bytes as JSON (at most "
                                     f"{MAX_META_BYTES})")
                self._handle.write(_HEADER.pack(MAGIC, VERSION, RECORD_DTYPE.itemsize, len(text)))
                self._handle.write(text)
                self._handle.flush()
            summary = scan(self.path)
            if summary.torn:
                self._handle.truncate(summary.end)
        except BaseException:
            self._handle.close()
            raise
        self.meta = summary.meta
        self.positions = summary.positions
        self.next_game = summary.next_game

    def write_game(self, game: int, records: np.ndarray) -> None:
        """Append one game's records RECORD_DTYPE[n] (n may be 0) as a chunk, flushed."""
        records = np.array(records, dtype=RECORD_DTYPE).reshape(-1)  # a copy: game is set
        if len(records) > MAX_CHUNK_RECORDS:
            raise ValueError(f"{len(records)} records in a game (at most {MAX_CHUNK_RECORDS})")
        if not 0 <= game < 2**32:
            raise ValueError(f"game index {game} does not fit in 32 bits")
        if len(records):
            _check(records)
        records["game"] = game
        data = records.tobytes()
        self._handle.write(_CHUNK.pack(CHUNK_MAGIC, game, len(records), zlib.crc32(data)) + data)
        self._handle.flush()
        self.positions += len(records)
        self.next_game = max(self.next_game, game + 1)

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> PositionWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def summary_line(path: str | os.PathLike) -> str:
    """One line: positions, games and size of a position file."""
    found = scan(path)
    size = os.path.getsize(path)
    per = f" ({size / found.positions:.0f} bytes a position)" if found.positions else ""
    torn = ", torn final chunk" if found.torn else ""
    return f"{found.positions} positions in {found.games} games, {size / 1e6:.1f} MB{per}{torn}"
