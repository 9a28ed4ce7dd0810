"""The analyse and solve subcommands, driven in-process through main()."""

import io
import json
import subprocess
import sys

import pytest

from alphazero.cli import main


def run(monkeypatch, capsys, argv, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_analyse_connect4_batch_with_bad_lines(monkeypatch, capsys):
    lines = "4453\n44x\n121212\n1212121\n4444444\n"
    code, records, err = run(monkeypatch, capsys, ["analyse", "connect4", "--sims", "64"], lines)
    assert code == 1  # some lines failed
    assert [r["position"] for r in records] == ["4453", "44x", "121212", "1212121", "4444444"]
    assert "move" in records[0] and set(records[0]["policy"]) == set("1234567")
    assert sum(records[0]["visits"].values()) == 64
    assert "not a column digit" in records[1]["error"]
    assert records[2]["move"] == "1"  # a win in one is found even by an untrained network
    assert "game is over" in records[3]["error"]
    assert "full column" in records[4]["error"]
    assert "checkpoint" in err  # says which network it used


def test_analyse_all_good_exits_zero_and_sims_zero_is_policy(monkeypatch, capsys):
    code, records, _ = run(monkeypatch, capsys, ["analyse", "tictactoe", "--sims", "0"],
                           "5\n\n")
    assert code == 0 and len(records) == 2
    assert all(sum(r["visits"].values()) == 0 for r in records)
    best = max(records[0]["policy"], key=records[0]["policy"].get)
    assert records[0]["move"] == best


def test_analyse_gumbel_and_input_file(monkeypatch, capsys, tmp_path):
    path = tmp_path / "positions.txt"
    path.write_text("1425\n")
    code, records, _ = run(monkeypatch, capsys, ["analyse", "tictactoe", "--sims", "32",
                                                 "--search", "gumbel", "--input", str(path)])
    assert code == 0 and records[0]["move"] == "3"


def test_analyse_chess_fen_and_errors(monkeypatch, capsys):
    lines = ("startpos moves e2e4 e7e5 f1c4 b8c6 d1h5 g8f6\n"
             "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1\n"
             "startpos moves e2e5\n")
    code, records, _ = run(monkeypatch, capsys, ["analyse", "chess", "--sims", "800"], lines)
    assert code == 1
    assert records[0]["move"] == "h5f7"  # mate in one
    assert "move" in records[1]
    assert "e2e5" in records[2]["error"]


def test_analyse_missing_checkpoint_is_one_line(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, ["analyse", "connect4", "--checkpoint",
                                             str(tmp_path / "missing.pt")], "4\n")
    assert code == 2 and "error" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2


def test_analyse_bad_config_key(monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, ["analyse", "connect4", "--set", "search.cinit=1"],
                       "4\n")
    assert code == 2 and "search.cinit" in err


def test_solve(monkeypatch, capsys):
    code, records, _ = run(monkeypatch, capsys, ["solve", "connect4"], "121212\n12x\n")
    assert code == 1
    assert records[0]["score"] == 18
    assert records[0]["move_scores"]["1"] == 18
    assert set(records[0]["move_scores"]) == set("1234567")
    assert "error" in records[1]


def test_solve_has_a_time_limit_per_position(monkeypatch, capsys):
    import time

    started = time.perf_counter()
    code, records, _ = run(monkeypatch, capsys, ["solve", "connect4", "--max-seconds", "0.5"],
                           "\n2252576253462244111563365343671351441\n")
    assert time.perf_counter() - started < 30
    assert code == 1 and "not solved in" in records[0]["error"]  # the empty board: too hard
    assert "--max-seconds 0" in records[0]["error"]
    assert records[1]["score"] == -1  # the next position (an end game) is still answered


def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "alphazero", "solve", "connect4"],
                          input="4453\n", capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["score"] == -2


def test_bare_command_lists_the_subcommands(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    for command in ("analyse", "solve", "train", "play", "uci", "match", "ablate"):
        assert f"    {command}" in err, err


def test_version(capsys):
    import alphazero

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"alphazero {alphazero.__version__}"


def test_every_command_and_option_says_what_it_does():
    import argparse

    from alphazero.cli.main import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, parser in sub.choices.items():
        if not parser.description:
            missing.append(f"{name}: no description")
        missing += [f"{name} {action.option_strings or action.dest}: no help"
                    for action in parser._actions
                    if not action.help and not isinstance(action, argparse._HelpAction)]
    assert not missing, missing


def test_analyse_learned_with_another_checkpoint_refuses_the_shipped_weights(
        monkeypatch, capsys, tmp_path):
    from alphazero.config import load_config
    from games import get_game
    from nets.checkpoint import save_checkpoint
    from nets.torch_net import PolicyValueNet

    game, network = get_game("connect4"), load_config("connect4").network
    other = tmp_path / "other.pt"
    save_checkpoint(other, model_state=PolicyValueNet(network, game.observation_shape,
                                                      game.num_actions).state_dict(),
                    network_config=network, game="connect4",
                    observation_shape=game.observation_shape, num_actions=game.num_actions)
    code, out, err = run(monkeypatch, capsys, ["analyse", "connect4", "--checkpoint",
                                               str(other), "--search", "learned"], "44\n")
    assert code != 0 and out == []
    assert err.count("\n") == 1 and "trained for the shipped network, not" in err
