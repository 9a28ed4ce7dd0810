"""Whole-process time of `alphazero analyse` on many positions, backend by backend.

    python benchmarks/bench_backends.py                          # connect4, 1,000 positions
    python benchmarks/bench_backends.py --game chess --positions 200 --sims 32

Writes ``--positions`` positions reached by seeded random play (Connect Four: column digits;
chess: FEN) to a file, then times ``alphazero analyse GAME --sims N --input FILE --backend B``
as a new process for each backend, ``--runs`` times, interleaved, so a burst of load hurts
every backend alike. Reports the best and median wall time and each backend's speed-up over
``--backend torch``; checks that every run answered every position.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from games import get_game  # noqa: E402


def positions(game_name: str, count: int, seed: int) -> list[str]:
    """Texts of ``count`` distinct positions at random plies of seeded random games."""
    game = get_game(game_name)
    rng = np.random.default_rng(seed)
    texts: dict[str, None] = {}
    while len(texts) < count:
        state, moves = game.initial_state(), []
        target = int(rng.integers(2, 30))
        while len(moves) < target and not game.is_terminal(state):
            action = int(rng.choice(np.flatnonzero(game.legal_mask(state))))
            moves.append(game.format_move(state, action))
            state = game.apply(state, action)
        if game.is_terminal(state):
            continue
        texts[state.fen() if game_name == "chess" else "".join(moves)] = None
    return list(texts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--game", default="connect4", choices=["tictactoe", "connect4", "chess"])
    p.add_argument("--positions", type=int, default=1000)
    p.add_argument("--sims", type=int, default=64)
    p.add_argument("--backends", nargs="+", default=["torch", "onnx", "onnx-int8"])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    backends = list(dict.fromkeys(["torch", *args.backends]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "positions.txt"
        path.write_text("\n".join(positions(args.game, args.positions, args.seed)) + "\n")
        cmd = [sys.executable, "-m", "alphazero", "analyse", args.game, "--sims",
               str(args.sims), "--input", str(path)]
        subprocess.run([*cmd, "--backend", "onnx"], capture_output=True, check=True)  # warm
        times: dict[str, list[float]] = {b: [] for b in backends}
        for _ in range(args.runs):
            for backend in backends:
                started = time.perf_counter()
                proc = subprocess.run([*cmd, "--backend", backend], capture_output=True,
                                      text=True, check=False)
                times[backend].append(time.perf_counter() - started)
                answered = len(proc.stdout.splitlines())
                if proc.returncode != 0 or answered != args.positions:
                    raise SystemExit(f"--backend {backend}: exit {proc.returncode}, {answered} "
                                     f"answers: {proc.stderr.strip()[-300:]}")
    print(f"`alphazero analyse {args.game} --sims {args.sims}` on {args.positions} positions, "
          f"whole process, best of {args.runs} interleaved runs\n")
    print("| backend | best s | median s | speed-up over torch (best) |")
    print("|---|---:|---:|---:|")
    base = min(times["torch"])
    for backend in backends:
        best = min(times[backend])
        print(f"| {backend} | {best:.2f} | {statistics.median(times[backend]):.2f} | "
              f"{base / best:.2f}x |")


if __name__ == "__main__":
    main()
