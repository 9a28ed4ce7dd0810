"""`alphazero analyse` runs the network in ONNX Runtime (or numpy) without importing torch, and
falls back to torch for a file only torch reads."""

import io
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from alphazero.cli import main
from alphazero.config import load_config
from games import get_game
from nets import loader as models
from nets.loader import resolve_evaluate

NO_TORCH_SCRIPT = textwrap.dedent("""
    import io, json, sys
    from alphazero.cli import main

    def run(argv, stdin):
        sys.stdin, sys.stdout = io.StringIO(stdin), io.StringIO()
        code = main(argv)
        out, sys.stdout = sys.stdout.getvalue(), sys.__stdout__
        return code, [json.loads(line) for line in out.splitlines()]

    results = {
        "connect4": run(["analyse", "connect4", "--sims", "16"], "4453\\n"),
        "chess": run(["analyse", "chess", "--sims", "16"], "startpos moves e2e4\\n"),
        "solve": run(["solve", "connect4"], "4453\\n"),
        "corrupt": run(["analyse", "tictactoe", "--checkpoint", sys.argv[1]], "5\\n"),
    }
    print(json.dumps({"torch_imported": "torch" in sys.modules, "results": results}))
""")


def run(monkeypatch, capsys, argv, stdin):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_analyse_and_solve_never_import_torch(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes((models.SHIPPED_DIR / "tictactoe.pt").read_bytes()[:5000])
    proc = subprocess.run([sys.executable, "-c", NO_TORCH_SCRIPT, str(corrupt)],
                          check=False, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    results = report["results"]
    assert results["connect4"][0] == 0 and results["connect4"][1][0]["move"] in "1234567"
    assert results["chess"][0] == 0 and "move" in results["chess"][1][0]
    assert results["solve"][0] == 0 and results["solve"][1][0]["score"] == -2
    assert results["corrupt"][0] == 2
    assert "truncated or corrupt" in proc.stderr and "(onnx)" in proc.stderr
    assert report["torch_imported"] is False


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_backends_give_torchs_analysis(monkeypatch, capsys, backend):
    argv = ["analyse", "connect4", "--sims", "48"]
    lines = "4453\n44\n"
    code, records, err = run(monkeypatch, capsys, [*argv, "--backend", backend], lines)
    code_torch, torch_records, torch_err = run(monkeypatch, capsys,
                                               [*argv, "--backend", "torch"], lines)
    assert code == code_torch == 0
    assert f"({backend})" in err and "(torch)" in torch_err
    for ours, theirs in zip(records, torch_records):
        assert ours["move"] == theirs["move"] and ours["visits"] == theirs["visits"]
        assert ours["value"] == pytest.approx(theirs["value"], abs=2e-4)


def test_legacy_checkpoint_falls_back_to_torch(monkeypatch, capsys, tmp_path):
    checkpoint = torch.load(models.SHIPPED_DIR / "tictactoe.pt", weights_only=True)
    path = tmp_path / "legacy.pt"
    torch.save(checkpoint, path, _use_new_zipfile_serialization=False)
    code, records, err = run(monkeypatch, capsys,
                             ["analyse", "tictactoe", "--checkpoint", str(path)], "5\n")
    assert code == 0 and records[0]["move"]
    assert "(torch; " in err and "legacy" in err
    code, _, err = run(monkeypatch, capsys, ["analyse", "tictactoe", "--checkpoint", str(path),
                                             "--backend", "numpy"], "5\n")
    assert code == 2 and "legacy" in err and "Traceback" not in err


def test_fresh_network_runs_in_either_backend(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "SHIPPED_DIR", tmp_path)  # no shipped checkpoint
    game = get_game("connect4")
    network = load_config("connect4").network
    evaluate_numpy, source_numpy = resolve_evaluate(game, network, backend="numpy", seed=3)
    evaluate_auto, source_auto = resolve_evaluate(game, network, backend="auto", seed=3)
    assert "freshly initialised" in source_numpy and source_numpy.endswith("(numpy)")
    assert "freshly initialised" in source_auto and source_auto.endswith("(onnx)")
    observations = np.stack([game.encode(game.parse_position(p)) for p in ("", "4453")])
    masks = np.stack([game.legal_mask(game.parse_position(p)) for p in ("", "4453")])
    for ours, theirs in zip(evaluate_numpy(observations, masks),
                            evaluate_auto(observations, masks)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_without_onnx_auto_moves_from_numpy_to_torch_after_many_large_batches(monkeypatch):
    monkeypatch.setattr(models, "SWITCH_AFTER_POSITIONS", 100)
    monkeypatch.setattr(models, "onnx_available", lambda: False)
    game = get_game("tictactoe")
    evaluate, source = resolve_evaluate(game, load_config("tictactoe").network)
    assert "(numpy; torch for long runs" in source
    rng = np.random.default_rng(0)
    states = [game.initial_state()]
    for _ in range(60):
        state = states[int(rng.integers(len(states)))]
        legal = np.flatnonzero(game.legal_mask(state))
        if legal.size and not game.is_terminal(state):
            states.append(game.apply(state, int(rng.choice(legal))))
    observations = np.stack([game.encode(s) for s in states[:40]])
    masks = np.stack([game.legal_mask(s) for s in states[:40]])
    first = evaluate(observations, masks)
    for _ in range(20):  # small calls do not count
        evaluate(observations[:8], masks[:8])
    assert evaluate.backend == "numpy" and evaluate.large_positions == 40
    evaluate(observations, masks)
    assert evaluate.backend == "numpy"
    last = evaluate(observations, masks)  # 120 large positions: now torch
    assert evaluate.backend == "torch"
    for ours, theirs in zip(first, last):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend must be one of"):
        resolve_evaluate(get_game("tictactoe"), load_config("tictactoe").network,
                         backend="jax")
