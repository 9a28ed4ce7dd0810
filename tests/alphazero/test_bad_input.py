"""Bad input at every door (issue 18): each row is a command and an input a new user might
give; each must end with exit status != 0 and exactly one error line on stderr, no traceback,
no hang and no memory blow-up, and (section 2) a checkpoint that would run code when unpickled
is refused by every path that reads one, without running it.

Rows run in-process through ``main`` (an exception escaping it is the traceback a user would
see); a few run as real processes where the process boundary is the point (stdin encoding).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from alphazero.cli import main

ROOT = Path(__file__).resolve().parents[2]
BIG = "1000000000000"  # 10^12 simulations: a 29 TiB tree before the bound


class _Hostile:
    """Unpickling this runs ``touch MARKER``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Hostile checkpoints, badly encoded text, alias bombs and other bad files."""
    import torch

    d = tmp_path_factory.mktemp("bad")
    marker = d / "MARKER"
    f = {"dir": d, "marker": marker}
    evil = _Hostile(marker)
    f["evil"] = d / "evil.pt"  # a checkpoint dict whose weights are the payload
    torch.save({"format_version": 1, "game": "connect4", "network": {},
                "observation_shape": (2, 6, 7), "num_actions": 7, "model": {"w": evil}},
               f["evil"])
    f["evil_legacy"] = d / "evil_legacy.pt"  # torch's pre-zip format: a bare pickle
    f["evil_legacy"].write_bytes(pickle.dumps(evil, protocol=2))
    f["evil_ttt"] = d / "evil_ttt.pt"
    torch.save({"format_version": 1, "game": "tictactoe", "network": {},
                "observation_shape": (2, 3, 3), "num_actions": 9, "model": {"w": evil}},
               f["evil_ttt"])
    f["evil_chess"] = d / "evil_chess.pt"
    torch.save(evil, f["evil_chess"])
    shipped = torch.load(ROOT / "nets/checkpoints/connect4.pt", weights_only=True)
    f["negative_actions"] = d / "negative_actions.pt"
    torch.save({**shipped, "num_actions": -7}, f["negative_actions"])
    f["binary"] = d / "binary.txt"
    f["binary"].write_bytes(bytes(range(256)) * 4)
    f["latin1"] = d / "latin1.txt"
    f["latin1"].write_bytes("44\ncaf\xe9\n".encode("latin-1"))
    f["latin1_yaml"] = d / "latin1.yaml"
    f["latin1_yaml"].write_bytes("game: connect4\n# caf\xe9\n".encode("latin-1"))
    f["binary_yaml"] = d / "binary.yaml"
    f["binary_yaml"].write_bytes(bytes(range(256)) * 4)
    f["bad_game_yaml"] = d / "bad_game.yaml"
    f["bad_game_yaml"].write_text("game: nosuchgame\n")
    f["list_yaml"] = d / "list.yaml"
    f["list_yaml"].write_text("- 1\n- 2\n")
    bomb = ['&a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        bomb.append(f"&{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb_value = "[" + ", ".join(bomb) + "]"  # 9^9 strings if anything walks it
    f["bomb_yaml"] = d / "bomb.yaml"
    f["bomb_yaml"].write_text(f"game: connect4\nsearch:\n  c_init: {bomb_value}\n")
    f["bomb_game_yaml"] = d / "bomb_game.yaml"
    f["bomb_game_yaml"].write_text(f"game: {bomb_value}\n")
    f["bomb_value"] = bomb_value
    f["a_file"] = d / "a_file"
    f["a_file"].write_text("x")
    f["pgn"] = d / "game.pgn"
    f["pgn"].write_text('[Event "x"]\n[Result "1-0"]\n\n1. e4 e5 2. Qh5 Nc6 3. Bc4 Nf6 '
                        "4. Qxf7# 1-0\n")
    f["ablate_evil"] = d / "ablate_evil.yaml"
    f["ablate_evil"].write_text(f"game: tictactoe\ncheckpoints:\n  evil: {f['evil_ttt']}\n"
                                "learned_on: evil\narms: [policy, puct]\nbudgets: [2]\n"
                                "seeds: [0]\npositions: 10\n")
    return f


def _args(row: list[str], f: dict[str, Path]) -> list[str]:
    """A row's argv with {name} replaced by the path of fixture file ``name``."""
    return [arg.format(**{k: str(v) for k, v in f.items()}) for arg in row]


# (id, argv, stdin). Every row: exit != 0, one error line, no traceback, no marker file.
ROWS = [
    # analyse
    ("analyse-sims-huge", ["analyse", "connect4", "--sims", BIG], "44\n"),
    ("analyse-threads-0-torch", ["analyse", "connect4", "--threads", "0", "--backend", "torch",
                                 "--sims", "4"], "44\n"),
    ("analyse-threads-neg", ["analyse", "connect4", "--threads", "-3", "--sims", "4"], "44\n"),
    ("analyse-batch-0", ["analyse", "connect4", "--batch", "0"], "44\n"),
    ("analyse-input-dir", ["analyse", "connect4", "--input", "{dir}"], ""),
    ("analyse-negative-actions-torch", ["analyse", "connect4", "--checkpoint",
                                        "{negative_actions}", "--backend", "torch"], "44\n"),
    ("analyse-negative-actions", ["analyse", "connect4", "--checkpoint", "{negative_actions}"],
     "44\n"),
    # solve
    ("solve-max-seconds-neg", ["solve", "connect4", "--max-seconds", "-1"], "44\n"),
    # play
    ("play-pgn-dir", ["play", "chess", "--pgn", "{dir}", "--sims", "2"], "e4\nquit\n"),
    ("play-pgn-under-file", ["play", "chess", "--pgn", "{a_file}/x.pgn"], "quit\n"),
    ("play-sims-huge", ["play", "connect4", "--sims", BIG], "quit\n"),
    ("play-threads-0", ["play", "connect4", "--threads", "0", "--backend", "torch"], "quit\n"),
    # match
    ("match-rollout-huge", ["match", "connect4", "--a", f"rollout:{BIG}", "--b", "random",
                            "--games", "2"], ""),
    ("match-net-sims-huge", ["match", "connect4", "--a", f"net:{BIG}", "--b", "random",
                             "--games", "2"], ""),
    ("match-sims-huge", ["match", "connect4", "--a", "random", "--b", "random", "--sims", BIG],
     ""),
    ("match-opening-plies-100", ["match", "connect4", "--a", "random", "--b", "random",
                                 "--games", "2", "--opening-plies", "100"], ""),
    ("match-max-plies-neg", ["match", "tictactoe", "--a", "random", "--b", "random",
                             "--max-plies", "-1"], ""),
    ("match-pgn-dir", ["match", "tictactoe", "--a", "random", "--b", "random", "--pgn",
                       "{dir}"], ""),
    ("match-negative-actions-torch", ["match", "connect4", "--a", "{negative_actions}", "--b",
                                      "random", "--games", "2", "--backend", "torch"], ""),
    # train (all refused before Ray starts)
    ("train-config-bad-game", ["train", "{bad_game_yaml}", "--run-dir", "{dir}/r1"], ""),
    ("train-set-bad-game", ["train", "connect4", "--set", "game=nosuch", "--run-dir",
                            "{dir}/r1"], ""),
    ("train-config-binary", ["train", "{binary_yaml}", "--run-dir", "{dir}/r1"], ""),
    ("train-config-latin1", ["train", "{latin1_yaml}", "--run-dir", "{dir}/r1"], ""),
    ("train-config-list", ["train", "{list_yaml}", "--run-dir", "{dir}/r1"], ""),
    ("train-run-dir-file", ["train", "tictactoe", "--run-dir", "{a_file}"], ""),
    ("train-run-dir-under-file", ["train", "tictactoe", "--run-dir", "{a_file}/run"], ""),
    ("train-address-garbage", ["train", "tictactoe", "--address", "garbage", "--run-dir",
                               "{dir}/r2"], ""),
    ("train-address-nothing-listens", ["train", "tictactoe", "--address", "127.0.0.1:1",
                                       "--run-dir", "{dir}/r3"], ""),
    ("train-resume-no-run", ["train", "--resume", "{dir}"], ""),
    # pretrain
    ("pretrain-init-evil", ["pretrain", "chess", "--pgn", "{pgn}", "--init", "{evil_chess}",
                            "--out", "{dir}/pre.pt", "--steps", "1", "--no-progress"], ""),
    ("pretrain-out-under-file", ["pretrain", "chess", "--pgn", "{pgn}", "--out",
                                 "{a_file}/x.pt", "--steps", "1", "--no-progress"], ""),
    ("pretrain-threads-0", ["pretrain", "chess", "--pgn", "{pgn}", "--out", "{dir}/pre.pt",
                            "--steps", "1", "--threads", "0", "--no-progress"], ""),
    ("pretrain-lr-neg", ["pretrain", "chess", "--pgn", "{pgn}", "--out", "{dir}/pre.pt",
                         "--steps", "1", "--lr", "-1", "--no-progress"], ""),
    # train-search
    ("train-search-checkpoint-evil", ["train-search", "connect4", "--checkpoint", "{evil}",
                                      "--run-dir", "{dir}/ts"], ""),
    ("train-search-run-dir-file", ["train-search", "tictactoe", "--checkpoint", "tictactoe",
                                   "--run-dir", "{a_file}"], ""),
    ("train-search-iterations-0", ["train-search", "tictactoe", "--checkpoint", "tictactoe",
                                   "--iterations", "0", "--run-dir", "{dir}/ts"], ""),
    # ablate
    ("ablate-checkpoint-evil", ["ablate", "{ablate_evil}", "--out", "{dir}/ab", "--quick"], ""),
    ("ablate-config-binary", ["ablate", "{binary_yaml}", "--out", "{dir}/ab"], ""),
    ("ablate-config-bomb", ["ablate", "{bomb_yaml}", "--out", "{dir}/ab"], ""),
    ("ablate-out-file", ["ablate", "tictactoe", "--out", "{a_file}", "--quick"], ""),
    # configs and --set
    ("config-latin1", ["analyse", "connect4", "--config", "{latin1_yaml}"], "44\n"),
    ("config-binary", ["analyse", "connect4", "--config", "{binary_yaml}"], "44\n"),
    ("config-bomb", ["analyse", "connect4", "--config", "{bomb_yaml}"], "44\n"),
    ("config-bomb-game", ["analyse", "connect4", "--config", "{bomb_game_yaml}"], "44\n"),
    ("set-bomb", ["analyse", "connect4", "--set", "search.c_init={bomb_value}"], "44\n"),
    ("set-unknown-game", ["analyse", "connect4", "--set", "game=nosuch"], "44\n"),
    ("set-search-sims-huge", ["analyse", "connect4", "--set", f"search.simulations={BIG}"],
     "44\n"),
    ("set-search-sims-neg", ["analyse", "connect4", "--set", "search.simulations=-5"], "44\n"),
    ("set-c-init-neg", ["analyse", "connect4", "--set", "search.c_init=-1"], "44\n"),
    ("set-c-base-0", ["analyse", "connect4", "--set", "search.c_base=0"], "44\n"),
    ("set-virtual-loss-neg", ["analyse", "connect4", "--set", "search.virtual_loss=-1"],
     "44\n"),
    ("set-channels-0", ["analyse", "connect4", "--set", "network.channels=0"], "44\n"),
    ("set-lr-neg", ["train", "tictactoe", "--set", "train.lr=-1", "--run-dir", "{dir}/r4"], ""),
    ("set-lr-nan", ["train", "tictactoe", "--set", "train.lr=.nan", "--run-dir", "{dir}/r4"],
     ""),
    ("set-workers-neg", ["train", "tictactoe", "--set", "selfplay.workers=-1"], ""),
    ("set-selfplay-sims-huge", ["train", "tictactoe", "--set",
                                f"selfplay.simulations={BIG}", "--run-dir", "{dir}/r4"], ""),
    ("set-temperature-moves-neg", ["train", "tictactoe", "--set",
                                   "selfplay.temperature_moves=-1", "--run-dir", "{dir}/r4"], ""),
    ("set-eval-games-neg", ["train", "tictactoe", "--set", "train.eval_games=-1", "--run-dir",
                            "{dir}/r4"], ""),
    ("set-min-buffer-neg", ["train", "tictactoe", "--set", "train.min_buffer=-1", "--run-dir",
                            "{dir}/r4"], ""),
    # checkpoints that would run code (issue 18, section 2)
    ("evil-analyse", ["analyse", "connect4", "--checkpoint", "{evil}"], "44\n"),
    ("evil-analyse-torch", ["analyse", "connect4", "--checkpoint", "{evil}", "--backend",
                            "torch"], "44\n"),
    ("evil-legacy-analyse", ["analyse", "connect4", "--checkpoint", "{evil_legacy}"], "44\n"),
    ("evil-legacy-analyse-numpy", ["analyse", "connect4", "--checkpoint", "{evil_legacy}",
                                   "--backend", "numpy"], "44\n"),
    ("evil-play", ["play", "connect4", "--checkpoint", "{evil}"], "quit\n"),
    ("evil-match", ["match", "connect4", "--a", "{evil}", "--b", "random", "--games", "2"], ""),
    ("evil-match-torch", ["match", "connect4", "--a", "{evil_legacy}:4", "--b", "random",
                          "--games", "2", "--backend", "torch"], ""),
    ("evil-learned-weights", ["analyse", "connect4", "--set", "search.arm=learned", "--set",
                              "search.learned_weights={evil}", "--sims", "4"], "44\n"),
    ("evil-learned-weights-legacy", ["analyse", "connect4", "--set", "search.arm=learned",
                                     "--set", "search.learned_weights={evil_legacy}",
                                     "--sims", "4"], "44\n"),
]


def _run(monkeypatch, capsys, argv: list[str], stdin: str) -> tuple[int, list[str]]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)  # an exception escaping main is a traceback for the user
    _, err = capsys.readouterr()
    return code, err.splitlines()


def _error_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "error" in line.lower()]


@pytest.mark.parametrize("argv,stdin", [(argv, stdin) for _, argv, stdin in ROWS],
                         ids=[name for name, _, _ in ROWS])
def test_bad_input_ends_in_one_line(argv, stdin, files, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)  # default run directories and PGN files land here
    files["marker"].unlink(missing_ok=True)
    code, lines = _run(monkeypatch, capsys, _args(argv, files), stdin)
    assert code != 0, lines
    errors = _error_lines(lines)
    assert len(errors) == 1, lines
    assert errors[0].startswith(f"alphazero {argv[0]}: error: "), errors
    assert len(errors[0]) < 400, errors  # one readable line, not a dump
    assert not files["marker"].exists(), "the hostile checkpoint ran its code"


@pytest.fixture
def not_ray(request):
    """The port of a TCP server on 127.0.0.1 that is not Ray: it answers a connection with
    the bytes ``request.param`` (b"": closes it at once), or (None) accepts and says nothing."""
    server = socket.create_server(("127.0.0.1", 0))
    answer, connections = request.param, []

    def serve():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # the server closed: the test is over
                return
            connections.append(connection)
            if answer is not None:
                connection.sendall(answer)
                connection.close()

    if answer is not None:  # (silent: the kernel completes the connection on its own)
        threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for connection in connections:
        connection.close()


@pytest.mark.parametrize("not_ray", [None, b"", b"HTTP/1.1 400 Bad Request\r\n\r\n"],
                         ids=["silent", "closes", "http1"], indirect=True)
def test_train_address_where_something_else_listens_ends_in_one_line(not_ray, monkeypatch,
                                                                     capsys, tmp_path):
    """Ray would retry for ever (20 lines a minute, with a run directory made); the probe
    says it in one line within its bound, before the run directory is made."""
    started = time.monotonic()
    code, lines = _run(monkeypatch, capsys, ["train", "tictactoe", "--address",
                                             f"127.0.0.1:{not_ray}", "--run-dir",
                                             str(tmp_path / "run"), "--no-progress"], "")
    assert code == 2 and time.monotonic() - started < 15, lines
    assert lines == [f"alphazero train: error: --address 127.0.0.1:{not_ray}: something "
                     "listens there, but it is not a Ray cluster (no gRPC answer in 5 s)"]
    assert not (tmp_path / "run").exists()


def test_play_pgn_is_checked_before_the_game(files, monkeypatch, capsys, tmp_path):
    """A PGN path that cannot be written is said before the first move, not after the game."""
    monkeypatch.chdir(tmp_path)
    code, lines = _run(monkeypatch, capsys, ["play", "chess", "--pgn", str(files["dir"])],
                       "e4\nquit\n")
    assert code != 0 and not any(line.startswith("play chess:") for line in lines), lines


def test_uci_checkpoint_option_refuses_hostile_file(files, monkeypatch, capsys):
    files["marker"].unlink(missing_ok=True)
    commands = (f"uci\nsetoption name Checkpoint value {files['evil_chess']}\nisready\n"
                "position startpos\ngo nodes 2\nquit\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(commands))
    assert main(["uci"]) == 0  # the engine stays up and says why, as UCI expects
    out, _ = capsys.readouterr()
    assert "could run code" in out and "bestmove" in out
    assert not files["marker"].exists()


def test_uci_threads_zero(monkeypatch, capsys):
    code, lines = _run(monkeypatch, capsys, ["uci", "--threads", "0"], "uci\nquit\n")
    assert code != 0 and _error_lines(lines) == ["alphazero uci: error: --threads must be >= 1, "
                                                 "not 0"]


def _subprocess(args: list[str], stdin: bytes, **env: str) -> subprocess.CompletedProcess:
    environ = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "alphazero", *args], input=stdin,
                          capture_output=True, timeout=120, env=environ)


def test_uci_survives_invalid_utf8_with_strict_stdin():
    done = _subprocess(["uci"], b"uci\nposition startpos moves e2e4 \xff\xfe\nisready\nquit\n",
                       PYTHONIOENCODING="utf-8:strict")
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr and b"readyok" in done.stdout


def test_analyse_huge_sims_as_a_process():
    done = _subprocess(["analyse", "connect4", "--sims", BIG], b"44\n")
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err
    assert err.strip().splitlines() == ["alphazero analyse: error: --sims must be in "
                                        "[0, 1100000], not 1000000000000"]


@pytest.mark.parametrize("command", ["analyse", "solve"])
@pytest.mark.parametrize("name", ["binary", "latin1"])
def test_input_files_that_are_not_text_are_answered_line_by_line(files, monkeypatch, capsys,
                                                                  command, name):
    """A binary or Latin-1 --input: every line gets a JSON answer (an error record for a line
    that is not UTF-8 or not a position), exit 1, no traceback."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    extra = ["--sims", "2"] if command == "analyse" else []
    code = main([command, "connect4", "--input", str(files[name]), *extra])
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and records and "Traceback" not in err
    assert any("is not UTF-8" in r.get("error", "") for r in records)


@pytest.mark.parametrize("command", ["analyse", "solve"])
def test_a_line_that_is_not_utf8_is_answered_with_an_error_and_nothing_is_lost(
        files, monkeypatch, capsys, command):
    path = files["dir"] / "mixed.txt"
    path.write_bytes(b"2252576253462244111563365343671351441\n4\xe9\n"
                     b"2252576253462244111563365343671351441\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    extra = ["--sims", "2"] if command == "analyse" else []
    code = main([command, "connect4", "--input", str(path), *extra])
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(records) == 3  # every line answered, in order
    assert "error" not in records[0] and "error" not in records[2]
    assert "line 2 is not UTF-8" in records[1]["error"] and "0xe9" in records[1]["error"]


@pytest.mark.slow
@pytest.mark.parametrize("name, says", [("evil_ttt", "could run code"),
                                        ("binary", "is corrupt")])
def test_resume_refuses_hostile_or_corrupt_checkpoint_in_one_line(files, tmp_path, name, says):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text((ROOT / "alphazero/configs/tictactoe.yaml").read_text())
    (run / "checkpoints/step_00000010.pt").write_bytes(files[name].read_bytes())
    files["marker"].unlink(missing_ok=True)
    done = _subprocess(["train", "--resume", str(run), "--no-progress"], b"")
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err, err
    # one line (no warning of a fallback there is none to, no Ray task-error wrapping)
    [line] = err.strip().splitlines()
    assert line.startswith("alphazero train: error: no readable checkpoint in "), err
    assert "step_00000010.pt: checkpoint " in line and says in line, line
    assert "RayTaskError" not in line and not files["marker"].exists()
