"""Does a search play as well one tree at a time, with several leaves per network call?

For each search arm, scores the moves of the same searches on solver-labelled Connect Four
positions (the set of ``bench_connect4_strength.py``) done five ways:

* ``batched``: all positions together, one leaf per tree per call (how self-play, ladders,
  matches and ablations search);
* ``B=1, k=1 | 4 | 16``: one tree at a time with 1, 4 or 16 leaves per call, kept apart by
  virtual loss (``alphazero analyse --batch 1`` uses 16);
* ``engine``: ``alphazero.play.engine.SearchEngine``, the single-game searcher of ``play`` and
  ``uci`` (8 to 16 leaves per call), one position at a time.

Prints a Markdown table: the share of optimal moves with a 95% interval, and each way's paired
difference from ``batched`` with a 95% interval (positions where the two disagree).

    python benchmarks/bench_leaves_per_step.py [--positions 300] [--sims 200] [--arms puct,gumbel]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import numpy as np

from alphazero.config import load_config
from alphazero.eval.labelled import labelled_positions
from alphazero.play.engine import SearchEngine
from games import get_game
from nets.loader import resolve_evaluate, resolve_learned
from search.states import search_states

WAYS = ("batched", "B=1, k=1", "B=1, k=4", "B=1, k=16", "engine")


def search_moves(game, evaluate, params, states, way: str, learned) -> list[int]:
    """The move each state's search plays, searched the given way."""
    if way == "engine":
        moves = []
        for state in states:
            engine = SearchEngine(game, evaluate, params, learned=learned)
            engine.set_position(state)
            moves.append(engine.search(params.simulations).action)
        return moves
    if way == "batched":
        chunk, k = 64, 1
    else:
        chunk, k = 1, int(way.split("k=")[1])
    params = dataclasses.replace(params, leaves_per_step=k)
    result = search_states(game, evaluate, params, states, batch_size=chunk, seed=0,
                           learned=learned)
    return [int(a) for a in result.action]


def interval(share: float, n: int) -> float:
    return 1.96 * math.sqrt(max(share * (1 - share), 1e-12) / n)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--positions", type=int, default=300)
    p.add_argument("--sims", type=int, default=200)
    p.add_argument("--arms", default="puct,gumbel,learned")
    args = p.parse_args()
    game = get_game("connect4")
    config = load_config("connect4")
    positions = labelled_positions(game, args.positions, seed=0)
    states = [q.state() for q in positions]
    evaluate, source = resolve_evaluate(game, config.network, backend="numpy")
    print(f"{len(positions)} positions, {args.sims} simulations; network: {source}\n")
    print("| arm | way | optimal moves | − batched (paired) | seconds |")
    print("|---|---|---:|---:|---:|")
    for arm in args.arms.split(","):
        params = dataclasses.replace(config.search, arm=arm, simulations=args.sims)
        learned = resolve_learned(game, params)
        base = None
        for way in WAYS:
            started = time.perf_counter()
            moves = search_moves(game, evaluate, params, states, way, learned)
            seconds = time.perf_counter() - started
            good = np.array([m in q.optimal_actions() for m, q in zip(moves, positions)], float)
            if base is None:
                base = good
            diff = good - base
            half = 1.96 * diff.std(ddof=1) / math.sqrt(len(diff)) if diff.any() else 0.0
            print(f"| {arm} | {way} | {100 * good.mean():.1f}% ± "
                  f"{100 * interval(good.mean(), len(good)):.1f} | "
                  f"{100 * diff.mean():+.1f} ± {100 * half:.1f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
