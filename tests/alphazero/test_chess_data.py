"""The Stockfish-labelled position format: round trips, torn and hostile files, labels, and a
tiny generation run that resumes."""

import random
import struct
import zlib
from pathlib import Path

import chess
import chess.engine
import numpy as np
import pytest

from alphazero.eval import stockfish as sf
from alphazero.train import chess_data as cd
from alphazero.train import chess_labels as cl
from games.chess import GAME, encode_board


def _binary_or_none():
    try:
        return sf.find_stockfish()
    except sf.StockfishNotFoundError:
        return None


needs_stockfish = pytest.mark.skipif(
    _binary_or_none() is None,
    reason="Stockfish is not installed (apt-get install stockfish, or set STOCKFISH_PATH)")


def _fake_lines(board: chess.Board, rng: random.Random, k: int = 5) -> list[dict]:
    """A MultiPV result with random legal moves and scores, best first."""
    moves = rng.sample(list(board.legal_moves), min(k, board.legal_moves.count()))
    scores = sorted((rng.randint(-400, 400) for _ in moves), reverse=True)
    if rng.random() < 0.1:
        scores[0] = chess.engine.Mate(rng.randint(1, 5))
    return [{"pv": [m], "depth": 9,
             "score": chess.engine.PovScore(s if isinstance(s, chess.engine.Score)
                                            else chess.engine.Cp(s), board.turn)}
            for m, s in zip(moves, scores)]


def _random_game(seed: int, plies: int = 60) -> tuple[np.ndarray, list[chess.Board]]:
    """Records of a random game's positions (fake labels) and the boards, with history."""
    rng = random.Random(seed)
    board, records, boards = chess.Board(), [], []
    while not GAME.is_terminal(board) and board.ply() < plies:
        reps = 2 if board.is_repetition(3) else 1 if board.is_repetition(2) else 0
        record = cl.label_record(board, _fake_lines(board, rng), temperature=1.0,
                                 repetitions=reps)
        record["result"] = rng.choice((-1, 0, 1))
        move = rng.choice(list(board.legal_moves))
        record["played_action"] = GAME.parse_move(board, move.uci())
        records.append(record)
        boards.append(board.copy())
        board.push(move)
    return np.array(records, dtype=cd.RECORD_DTYPE), boards


def _write(path: Path, games: list[np.ndarray]) -> None:
    with cd.PositionWriter(path, meta={"test": True}) as writer:
        for records in games:
            writer.write_game(writer.next_game, records)


def test_round_trip_gives_back_records_and_boards(tmp_path):
    path = tmp_path / "p.bin"
    games = [_random_game(seed) for seed in range(3)]
    _write(path, [records for records, _ in games])
    assert cd.count_positions(path) == sum(len(r) for r, _ in games)
    assert cd.scan(path).meta == {"test": True} and cd.scan(path).next_game == 3
    back = cd.read_records(path)
    expected = np.concatenate([r for r, _ in games])
    expected["game"] = np.repeat(np.arange(3), [len(r) for r, _ in games])
    assert back.tobytes() == expected.tobytes()
    boards = [b for _, bs in games for b in bs]
    positions = list(cd.iter_positions(path))
    for position, board, record in zip(positions, boards, expected):
        assert position.board == board and position.board.fen() == board.fen()
        assert position.board.castling_rights == board.castling_rights
        assert position.board.ep_square == board.ep_square
        assert position.record.tobytes() == record.tobytes()
    batches = list(cd.iter_batches(path, 7))
    assert [len(b) for b in batches[:-1]] == [7] * (len(batches) - 1)
    assert np.concatenate(batches).tobytes() == expected.tobytes()


def test_observations_match_encode_board_including_repetitions():
    board, records, boards = chess.Board(), [], []
    for uci in ["g1f3", "g8f6", "f3g1", "f6g8"] * 3 + ["e2e4", "e7e5", "e1e2", "d7d5"]:
        reps = 2 if board.is_repetition(3) else 1 if board.is_repetition(2) else 0
        records.append(cl.label_record(board, _fake_lines(board, random.Random(0)),
                                       temperature=1.0, repetitions=reps))
        boards.append(board.copy())
        board.push_uci(uci)
    records = np.array(records, dtype=cd.RECORD_DTYPE)
    more, more_boards = _random_game(7, plies=120)
    records, boards = np.concatenate([records, more]), boards + more_boards
    assert {0, 1, 2} <= set(records["repetitions"].tolist())
    expected = np.stack([encode_board(b) for b in boards])
    np.testing.assert_array_equal(cl.observations(records), expected)
    np.testing.assert_array_equal(cl.record_observation(records[5]), expected[5])


def test_torn_final_chunk_is_skipped_and_cut_off_before_appending(tmp_path):
    path = tmp_path / "p.bin"
    games = [_random_game(seed)[0] for seed in range(3)]
    _write(path, games)
    full = path.read_bytes()
    path.write_bytes(full[:-50])  # the writer died inside the last game's records
    assert cd.count_positions(path) == len(games[0]) + len(games[1])
    assert [g for g, _ in cd.iter_games(path)] == [0, 1]
    assert cd.scan(path).torn
    path.write_bytes(full[:-len(games[2]) * cd.RECORD_DTYPE.itemsize - 5])  # inside a header
    assert cd.count_positions(path) == len(games[0]) + len(games[1])
    with cd.PositionWriter(path) as writer:
        assert writer.next_game == 2
        writer.write_game(2, games[2])
    assert path.read_bytes() == full and not cd.scan(path).torn


def _header(version=cd.VERSION, size=cd.RECORD_DTYPE.itemsize, meta=b"{}", meta_len=None):
    length = len(meta) if meta_len is None else meta_len
    return struct.pack("<8sHHI", cd.MAGIC, version, size, length) + meta


@pytest.mark.parametrize("data, message", [
    (b"", "magic"),
    (b"[Event \"a PGN\"]\n" * 4, "magic"),
    (_header(version=99), "version"),
    (_header(size=64), "record size"),
    (_header(meta_len=2**32 - 1), "metadata"),
    (_header(meta=b"[1, 2]"), "JSON object"),
    (_header(meta=b"{\"a\": "), "JSON object"),
    (_header() + struct.pack("<4sIII", b"JUNK", 0, 0, 0), "corrupt chunk"),
    (_header() + struct.pack("<4sIII", b"GAME", 0, 2**32 - 1, 0) + b"x" * 1000, "claims"),
])
def test_corrupt_or_hostile_files_are_value_errors(tmp_path, data, message):
    path = tmp_path / "bad.bin"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        list(cd.iter_games(path))
    if data:  # (an empty file is a new one to a writer)
        with pytest.raises(cd.PositionFileError):
            cd.PositionWriter(path)
        assert path.read_bytes() == data  # a writer never touches a file it cannot read


def test_bad_crc_and_out_of_range_fields_are_value_errors(tmp_path):
    records = _random_game(1)[0]
    path = tmp_path / "p.bin"
    _write(path, [records])
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="CRC"):
        list(cd.iter_games(path))
    bad = records.copy()
    bad["pieces"][0, 0] = 0xFF  # piece code 15, with a valid CRC
    payload = bad.tobytes()
    path.write_bytes(_header() + struct.pack("<4sIII", b"GAME", 0, len(bad), zlib.crc32(payload))
                     + payload)
    with pytest.raises(ValueError, match="piece code"):
        list(cd.iter_positions(path))
    with pytest.raises(ValueError, match="piece code"):
        cd.PositionWriter(tmp_path / "q.bin").write_game(0, bad)


def test_a_second_writer_is_refused(tmp_path):
    with cd.PositionWriter(tmp_path / "p.bin"):
        with pytest.raises(cd.PositionFileError, match="another process"):
            cd.PositionWriter(tmp_path / "p.bin")


def test_score_codes_and_policy_softmax():
    for score in (chess.engine.Cp(35), chess.engine.Cp(-1200), chess.engine.Mate(3),
                  chess.engine.Mate(-7)):
        assert cd.decode_score(cd.encode_score(score)) == score
    assert cd.encode_score(chess.engine.Cp(99999)) == cd.CP_LIMIT
    codes = np.array([cd.encode_score(s) for s in (chess.engine.Mate(2), chess.engine.Mate(6),
                                                   chess.engine.Cp(900), chess.engine.Mate(-3))])
    probs = cl.policy_from_scores(codes, temperature=1.0)
    assert probs[0] > probs[1] > probs[2] > probs[3] and abs(probs.sum() - 1) < 1e-6
    flat = cl.policy_from_scores(np.array([0, -100]), temperature=1.0)
    assert flat[1] / flat[0] == pytest.approx(np.exp(-1), rel=1e-5)
    with pytest.raises(ValueError, match="temperature"):
        cl.policy_from_scores(codes, temperature=0)


def test_value_targets_blend_the_score_wdl_with_the_result():
    records = _random_game(3)[0]
    wdl = cl.wdl_targets(records, 0.75)
    np.testing.assert_allclose(wdl.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(cl.value_targets(records, 0.0), records["result"])
    score = (records["wdl"][:, 0].astype(float) - records["wdl"][:, 2]) / 1000
    np.testing.assert_allclose(cl.value_targets(records, 1.0), score, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="eval_weight"):
        cl.wdl_targets(records, 1.5)


def _check_policy_targets_are_legal(path: Path) -> None:
    records = cd.read_records(path)
    actions, probs = cl.policy_targets(records)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    dense = cl.dense_policy(records)
    for position, row in zip(cd.iter_positions(path), dense):
        legal = GAME.legal_mask(position.board)
        assert legal[position.policy_actions].all()
        assert row[~legal].sum() == 0 and abs(row.sum() - 1) < 1e-5
        assert abs(position.policy_probs.sum() - 1) < 1e-5
        played = int(position.record["played_action"])
        assert legal[played]


def test_policy_targets_are_legal_and_sum_to_one(tmp_path):
    path = tmp_path / "p.bin"
    _write(path, [_random_game(seed, plies=200)[0] for seed in range(2)])
    _check_policy_targets_are_legal(path)


def test_generator_settings_are_checked(benchmark_script):
    module = benchmark_script("make_stockfish_positions")
    for bad in ({"levels": (21,)}, {"nodes": (10, 5)}, {"multipv": 9}, {"temperature": 0.0},
                {"label_share": 0.0}, {"max_plies": cd.MAX_CHUNK_RECORDS + 1}):
        with pytest.raises(ValueError):
            module.Settings(**bad)


@needs_stockfish
def test_generation_writes_labelled_positions_and_resumes(tmp_path, benchmark_script):
    module = benchmark_script("make_stockfish_positions")
    path = tmp_path / "positions.bin"
    small = ["--out", str(path), "--label-nodes", "400", "--multipv", "3", "--max-plies", "14",
             "--nodes", "50,100", "--random-plies", "4", "--seed", "5"]
    module.main(small + ["--games", "2"])
    first = cd.read_records(path)
    assert cd.scan(path).next_game == 2 and 0 < len(first) <= 28
    module.main(small + ["--games", "1"])
    records = cd.read_records(path)
    assert cd.scan(path).next_game == 3 and set(records["game"].tolist()) == {0, 1, 2}
    assert records[:len(first)].tobytes() == first.tobytes()  # appended, not rewritten
    third = records[records["game"] == 2]
    rng = module.game_rng(5, 2)
    levels = module.Settings().levels
    assert tuple(third["skill"][0]) == (rng.choice(levels), rng.choice(levels))
    assert (third["label_nodes"] == 400).all() and (third["ply"] == np.arange(len(third))).all()
    assert ((third["policy_actions"] != cd.NO_ACTION).sum(axis=1) <= 3).all()
    assert (np.abs(records["result"]) <= 1).all()
    _check_policy_targets_are_legal(path)
    with pytest.raises(SystemExit, match="temperature"):
        module.main(small + ["--games", "1", "--temperature", "2"])
