"""One chess game's search: simulations per second and tree memory per simulation.

    python benchmarks/bench_chess_search.py [--sims 3000] [--memory-sims 40000]
        [--leaves-per-step 8] [--evaluate onnx|torch|uniform] [--position TEXT] [--profile]

One tree (B = 1) from a Ruy Lopez position (or ``--position``), ``leaves_per_step`` leaves
per network call (8: what ``play`` and ``uci`` use with the shipped chess config), the
shipped network run by ONNX Runtime on one thread (``--evaluate torch``: by torch, one
thread; ``uniform``: no network, the search alone).

- speed: simulations per second of a fresh search of ``--sims``, best of ``--repeats``, and
  the share of the time spent outside the network;
- memory: the process's resident memory (RSS) before and after one search of
  ``--memory-sims`` (a search grows its tree as it goes), per simulation, with the tree's
  node and edge counts.

Only the public search API is used, so the same script measures an older checkout
(``PYTHONPATH=<checkout>``) in the same session.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import time

from alphazero.config import load_config
from games import get_game
from search import BatchedMCTS, uniform_evaluate

POSITION = "startpos moves e2e4 e7e5 g1f3 b8c6 f1b5 a7a6 b5a4 g8f6 e1g1"


def resident_bytes() -> int:
    """The process's resident set size (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def timed(evaluate):
    """``evaluate`` wrapped to add its seconds to ``spent[0]``."""
    spent = [0.0]

    def wrapped(obs, mask):
        start = time.perf_counter()
        out = evaluate(obs, mask)
        spent[0] += time.perf_counter() - start
        return out

    return wrapped, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=3000, help="simulations of a speed run")
    parser.add_argument("--repeats", type=int, default=3, help="speed runs (best is kept)")
    parser.add_argument("--memory-sims", type=int, default=40000,
                        help="simulations of the memory run (0: skip)")
    parser.add_argument("--leaves-per-step", type=int, default=8)
    parser.add_argument("--evaluate", choices=("onnx", "torch", "uniform"), default="onnx")
    parser.add_argument("--position", default=POSITION, help="FEN or 'startpos moves ...'")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of one speed run")
    args = parser.parse_args()

    game = get_game("chess")
    if args.evaluate == "onnx":
        from nets.onnx_net import load_onnx_model, make_onnx_evaluate_fn

        net, _ = load_onnx_model("nets/checkpoints/chess.pt", "chess")
        evaluate = make_onnx_evaluate_fn(net)
    elif args.evaluate == "torch":
        from nets.torch_net import load_model, make_evaluate_fn

        model, _ = load_model("nets/checkpoints/chess.pt", expected_game="chess")
        evaluate = make_evaluate_fn(model, num_threads=1)
    else:
        evaluate = uniform_evaluate
    params = dataclasses.replace(load_config("chess").search,
                                 leaves_per_step=args.leaves_per_step)
    board = game.parse_position(args.position)
    wrapped, spent = timed(evaluate)

    def search(sims: int) -> BatchedMCTS:
        mcts = BatchedMCTS(game, wrapped, params, batch_size=1, seed=0)
        mcts.set_roots([board])
        mcts.run(simulations=sims)
        return mcts

    search(100)  # compile and warm up
    best, outside = float("inf"), 0.0
    for _ in range(args.repeats):
        spent[0] = 0.0
        start = time.perf_counter()
        search(args.sims)
        seconds = time.perf_counter() - start
        if seconds < best:
            best, outside = seconds, 1 - spent[0] / seconds
    print(f"| chess one game, k={args.leaves_per_step}, {args.evaluate} | {args.sims / best:,.0f}"
          f" sims/s (best of {args.repeats} x {args.sims}) | outside the network "
          f"{outside:.0%} | target >= 1,000: {args.sims / best / 1000:.2f}x |")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        search(args.sims)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(18)
    if args.memory_sims > 0:
        before = resident_bytes()
        start = time.perf_counter()
        mcts = search(args.memory_sims)
        seconds = time.perf_counter() - start
        grown = resident_bytes() - before
        nodes, edges = int(mcts.tree.num_nodes[0]), int(mcts.tree.num_edges_used[0])
        print(f"| chess tree memory, {args.memory_sims:,} sims | {grown / args.memory_sims:,.0f} "
              f"bytes/sim resident | {nodes:,} nodes, {edges / nodes:.1f} edges a node | "
              f"{args.memory_sims / seconds:,.0f} sims/s | target <= 1,500: "
              f"{1500 / (grown / args.memory_sims):.2f}x |")


if __name__ == "__main__":
    main()
