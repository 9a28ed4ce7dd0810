"""alphazero pretrain: PGN streaming, targets, loss going down, a loadable checkpoint."""

import io
import random

import chess
import chess.pgn
import pytest
import torch

from alphazero.cli import main
from alphazero.config import PretrainOptions
from alphazero.train.pretrain import (
    evaluate_loss,
    game_positions,
    held_out_positions,
    iter_pgn_games,
    iter_positions,
    pretrain,
    validate,
)
from games.chess import GAME, NUM_ACTIONS, OBSERVATION_SHAPE
from nets.torch_net import NetworkConfig, PolicyValueNet, load_model


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread, as the CLI uses: several threads crawl on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = NetworkConfig(blocks=1, channels=8, policy_channels=2, value_channels=1, value_hidden=8)


def write_games(path, count=12, seed=0):
    """Games from a fixed, simple policy (so there is something to learn): the first legal
    move in python-chess's order, with a few random plies; results alternate."""
    rng = random.Random(seed)
    results = ["1-0", "0-1", "1/2-1/2"]
    with open(path, "w") as f:
        for i in range(count):
            board = chess.Board()
            for ply in range(24):
                moves = list(board.legal_moves)
                if not moves:
                    break
                board.push(rng.choice(moves) if ply < 2 else moves[0])
            game = chess.pgn.Game.from_board(board)
            game.headers["Result"] = results[i % 3]
            game.headers["RandomPlies"] = "2"
            print(game, file=f, end="\n\n")
        f.write("[Event \"broken\"]\n[Result \"*\"]\n\n1. e4 *\n\n")  # unfinished: skipped
    return path


def test_positions_carry_policy_and_value_targets(tmp_path):
    path = write_games(tmp_path / "games.pgn", count=3)
    games = list(iter_pgn_games([path]))
    assert len(games) == 3  # the unfinished game is skipped
    positions = list(game_positions(games[0]))  # a 1-0 game
    assert len(positions) == 24
    assert [p.action for p in positions[:2]] == [-1, -1]  # random plies: no policy target
    board = games[0].board()
    for position, move in zip(positions, games[0].mainline_moves()):
        assert position.observation.shape == OBSERVATION_SHAPE
        assert position.value == (1.0 if board.turn == chess.WHITE else -1.0)
        if position.action >= 0:
            assert position.action in position.legal
            assert GAME.format_move(board, position.action) == move.uci()
        board.push(move)


def test_random_moves_later_in_a_game_are_no_policy_targets():
    pgn = ('[Result "1-0"]\n[RandomPlies "1"]\n[RandomMoves "3 4"]\n\n'
           '1. e4 e5 2. Nf3 Qh4 3. Nxh4 Nc6 1-0\n\n')
    game = chess.pgn.read_game(io.StringIO(pgn))
    actions = [p.action for p in game_positions(game)]
    assert len(actions) == 6
    assert [a == -1 for a in actions] == [True, False, False, True, True, False]
    # A malformed list cannot say which moves were random: none is trusted as a target.
    game.headers["RandomMoves"] = "3 x"
    assert all(p.action == -1 for p in game_positions(game))
    assert [p.value for p in game_positions(game)][0] == 1.0  # values are kept


def test_eval_annotations_blend_into_the_value_target():
    pgn = ('[Result "1-0"]\n\n1. e4 { [%eval 0.30] } 1... e5 { [%eval #-2] } 2. Nf3 1-0\n\n')
    game = chess.pgn.read_game(io.StringIO(pgn))
    values = [p.value for p in game_positions(game, eval_weight=0.5)]
    assert values[0] == 1.0  # no eval for the start position: the result alone
    # After 1. e4 (+0.30 for White) Black is to move: minus a blend of 1 and a small plus.
    assert -1.0 < values[1] < -0.5
    # After 1... e5 White is mated in 2 (for Black): 0.5 * 1 + 0.5 * (-1) = 0.
    assert values[2] == pytest.approx(0.0)
    assert [p.value for p in game_positions(game, eval_weight=0.0)] == [1.0, -1.0, 1.0]


def test_pretrain_lowers_the_loss_and_writes_a_loadable_checkpoint(tmp_path):
    path = write_games(tmp_path / "games.pgn")
    positions = list(iter_positions([path], passes=1))
    torch.manual_seed(0)
    before_model = PolicyValueNet(TINY, OBSERVATION_SHAPE, NUM_ACTIONS)
    before = sum(evaluate_loss(before_model, positions))
    out = tmp_path / "chess.pt"
    options = PretrainOptions(steps=120, batch_size=32, lr=3e-3, shuffle_buffer=500,
                              checkpoint_every=50, sample_reuse=4.0)
    report = pretrain([path], TINY, out, options, progress=False)
    assert report.steps == 120 and report.games_read >= 12
    assert report.game_reads >= report.games_read
    model, checkpoint = load_model(out, expected_game="chess")
    after = sum(evaluate_loss(model, positions))
    assert after < before - 0.5, (before, after)
    assert checkpoint["step"] == 120 and checkpoint["source"] == "pretrain"
    # Resuming from the checkpoint keeps its network.
    again = pretrain([path], NetworkConfig(), tmp_path / "again.pt",
                     PretrainOptions(steps=5, batch_size=16, shuffle_buffer=100,
                                     sample_reuse=4.0), init=out, progress=False)
    assert again.steps == 5
    assert load_model(tmp_path / "again.pt")[0].config == TINY


def test_cli_pretrain_and_its_errors(tmp_path, capsys):
    path = write_games(tmp_path / "games.pgn", count=4)
    out = tmp_path / "cli.pt"
    code = main(["pretrain", "chess", "--pgn", str(path), "--out", str(out), "--steps", "3",
                 "--batch", "16", "--buffer", "64", "--no-progress",
                 "--set", "network.blocks=1", "--set", "network.channels=8"])
    err = capsys.readouterr().err
    assert code == 0 and out.is_file() and "3 steps" in err
    assert load_model(out)[0].config.channels == 8
    code = main(["pretrain", "chess", "--pgn", str(tmp_path / "missing.pgn"), "--out",
                 str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "PGN file not found" in err and "Traceback" not in err
    empty = tmp_path / "empty.pgn"
    empty.write_text("")
    code = main(["pretrain", "chess", "--pgn", str(empty), "--out", str(out), "--steps", "2",
                 "--no-progress"])
    assert code == 2 and "no usable games" in capsys.readouterr().err


def test_held_out_games_are_never_trained_on_and_pick_the_best_checkpoint(tmp_path):
    path = write_games(tmp_path / "games.pgn", count=12)
    every = 4  # games 3, 7 and 11 are held out
    held = held_out_positions([path], every, limit=10_000)
    trained = list(iter_positions([path], passes=1, holdout_every=every))
    everything = list(iter_positions([path], passes=1))
    assert len(held) + len(trained) == len(everything) and held and trained
    trained_obs = {p.observation.tobytes() + bytes([p.action % 256]) for p in trained}
    games = list(iter_pgn_games([path]))
    assert sum(1 for g in games[3::4] for _ in game_positions(g)) == len(held)
    # The random opening plies make the held-out games differ from the trained ones.
    assert any(p.observation.tobytes() + bytes([p.action % 256]) not in trained_obs
               for p in held)
    log: list[str] = []
    out = tmp_path / "chess.pt"
    options = PretrainOptions(steps=60, batch_size=32, lr=3e-3, shuffle_buffer=500,
                              checkpoint_every=20, sample_reuse=4.0, holdout_every=every)
    pretrain([path], TINY, out, options, progress=False, log=log.append, log_every=1000)
    lines = [line for line in log if "held-out" in line]
    assert len(lines) == 3 and "(best)" in lines[0]
    best = load_model(out.with_suffix(".best.pt"), expected_game="chess")[1]
    scores = best["pretrain"]["validation"]
    assert set(scores) == {"policy", "value", "top1"} and 0.0 <= scores["top1"] <= 1.0
    model = load_model(out, expected_game="chess")[0]
    assert validate(model, held) == load_model(out)[1]["pretrain"]["validation"]
