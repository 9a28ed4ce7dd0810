"""Speed of the batched search core; figures for BENCHMARKS.md.

    python benchmarks/bench_search.py all            # every section
    python benchmarks/bench_search.py overhead       # uniform evaluator, B=256 x 800 sims
    python benchmarks/bench_search.py phases         # CPU time per phase, B=64 and B=256
    python benchmarks/bench_search.py network        # search vs raw network throughput
    python benchmarks/bench_search.py single         # one game alone, virtual-loss batching
    python benchmarks/bench_search.py chess          # chess sims/s and the share outside the net
    python benchmarks/bench_search.py startup        # `alphazero analyse` wall time, warm cache

Each section compares as ratios within one run (the machine is shared and noisy) and repeats
measurements, reporting the best (least disturbed) repeat.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time

import numpy as np

from games import get_game
from search import BatchedMCTS, SearchParams, uniform_evaluate


def best_of(repeats: int, fn, clock=time.perf_counter) -> float:
    times = []
    for _ in range(repeats):
        t = clock()
        fn()
        times.append(clock() - t)
    return min(times)


def timed_evaluate(evaluate):
    """Wrap evaluate to accumulate the seconds spent in it."""
    spent = [0.0]

    def wrapped(obs, mask):
        t = time.perf_counter()
        out = evaluate(obs, mask)
        spent[0] += time.perf_counter() - t
        return out

    return wrapped, spent


def run_search(game, evaluate, params, batch, sims, seed=0, states=None):
    mcts = BatchedMCTS(game, evaluate, params, batch_size=batch, seed=seed)
    mcts.set_roots(states if states is not None else [game.initial_state()] * batch)
    mcts.run(simulations=sims)
    return mcts


def section_overhead(args) -> None:
    """Fresh: a new BatchedMCTS per search, so the figure includes allocating and first
    touching ~60 MB of tree. Reused: one BatchedMCTS searching again from new roots, as a
    self-play worker does from move to move."""
    game = get_game("connect4")
    batch, sims = args.batch, args.sims
    params = SearchParams(simulations=sims)
    run_search(game, uniform_evaluate, params, batch, 20)  # compile / warm up
    for arm in ("puct", "gumbel"):
        p = dataclasses.replace(params, arm=arm)
        reused = BatchedMCTS(game, uniform_evaluate, p, batch_size=batch, seed=0)

        def search_again(mcts=reused):
            mcts.set_roots([game.initial_state()] * batch)
            mcts.run()

        def search_fresh(p=p):
            run_search(game, uniform_evaluate, p, batch, sims)

        search_again()
        seconds = best_of(args.repeats, search_fresh)
        cpu = best_of(args.repeats, search_fresh, clock=time.process_time)
        cpu_reused = best_of(args.repeats, search_again, clock=time.process_time)
        us, cpu_us = seconds / (batch * sims) * 1e6, cpu / (batch * sims) * 1e6
        reused_us = cpu_reused / (batch * sims) * 1e6
        print(f"| overhead connect4 {arm} | B={batch} x {sims} sims | fresh: wall {us:.3f} us/sim, "
              f"CPU {cpu_us:.3f} us/sim | reused: CPU {reused_us:.3f} us/sim | target <= 1 us: "
              f"{1.0 / cpu_us:.2f}x (fresh CPU) |")


def section_phases(args) -> None:
    """CPU time per simulation of each phase: the kernels wrapped with timers."""
    import search.mcts as mcts_module

    spent: dict[str, float] = {}

    def wrap(name, fn):
        def timed(*a, **k):
            t = time.process_time()
            out = fn(*a, **k)
            spent[name] = spent.get(name, 0.0) + time.process_time() - t
            return out
        return timed

    game = get_game("connect4")
    originals = (mcts_module.select_leaves, mcts_module.expand_and_backup, game.step_leaves)
    mcts_module.select_leaves = wrap("select_leaves", originals[0])
    mcts_module.expand_and_backup = wrap("expand_and_backup", originals[1])
    game.step_leaves = wrap("step_leaves (game)", originals[2])
    evaluate = wrap("evaluate (uniform)", uniform_evaluate)
    try:
        for batch in (64, 256):
            sims = args.sims
            params = SearchParams(simulations=sims)
            run_search(game, evaluate, params, batch, 20)
            best = None
            for _ in range(args.repeats):  # the least disturbed repeat
                spent.clear()
                t = time.process_time()
                run_search(game, evaluate, params, batch, sims)
                total = time.process_time() - t
                if best is None or total < best[0]:
                    best = (total, dict(spent))
            total, phases = best
            per = batch * sims / 1e6
            for name, seconds in phases.items():
                print(f"| B={batch} | {name} | {seconds / per:.3f} us/sim |")
            print(f"| B={batch} | Python driver and the rest | "
                  f"{(total - sum(phases.values())) / per:.3f} us/sim |")
            print(f"| B={batch} | total | {total / per:.3f} us/sim |")
    finally:
        mcts_module.select_leaves, mcts_module.expand_and_backup = originals[:2]
        del game.step_leaves  # back to the class attribute


def default_net(game_name: str):
    import torch

    from alphazero.config import load_config
    from nets.torch_net import PolicyValueNet

    torch.manual_seed(0)
    config = load_config(game_name)
    game = get_game(game_name)
    return game, config, PolicyValueNet(config.network, game.observation_shape, game.num_actions)


def sample_observations(game, count: int, seed: int = 0):
    """Realistic inputs: positions from random playouts (array games)."""
    rng = np.random.default_rng(seed)
    obs, masks = [], []
    while len(obs) < count:
        state = game.initial_state()
        for _ in range(rng.integers(0, 20)):
            legal = np.flatnonzero(game.legal_mask(state))
            if legal.size == 0:
                break
            state = game.apply(state, int(rng.choice(legal)))
        if not game.is_terminal(state):
            obs.append(game.encode(state))
            masks.append(game.legal_mask(state))
    return np.stack(obs), np.stack(masks)


def section_network(args) -> None:
    from nets.torch_net import make_evaluate_fn

    game, config, model = default_net("connect4")
    evaluate = make_evaluate_fn(model, num_threads=args.threads)
    sims = args.net_sims
    for batch in (8, 16, 32):
        obs, masks = sample_observations(game, batch)
        evaluate(obs, masks)
        calls = 200
        raw = best_of(args.repeats, lambda: [evaluate(obs, masks) for _ in range(calls)])
        raw_rate = batch * calls / raw
        params = dataclasses.replace(config.search, simulations=sims, leaves_per_step=1)
        run_search(game, evaluate, params, batch, 10)
        wrapped, spent = timed_evaluate(evaluate)
        seconds = best_of(args.repeats, lambda: run_search(game, wrapped, params, batch, sims))
        rate = batch * sims / seconds
        net = f"{config.network.blocks}x{config.network.channels}"
        print(f"| connect4 {net} net, B={batch}, k=1 | network {raw_rate:,.0f} pos/s | search "
              f"{rate:,.0f} sims/s | ratio {rate / raw_rate:.1%} (target >= 85%) |")


def section_single(args) -> None:
    from nets.torch_net import make_evaluate_fn

    game, config, model = default_net("connect4")
    evaluate = make_evaluate_fn(model, num_threads=args.threads)
    obs, masks = sample_observations(game, 1)
    calls = 300
    evaluate(obs, masks)
    unbatched = calls / best_of(args.repeats, lambda: [evaluate(obs, masks) for _ in range(calls)])
    state = game.parse_position("4453")
    sims = args.single_sims
    for k in (1, 8, 16, 32):
        params = dataclasses.replace(config.search, simulations=sims, leaves_per_step=k)
        run_search(game, evaluate, params, 1, 20, states=[state])
        seconds = best_of(args.repeats, lambda: run_search(game, evaluate, params, 1, sims,
                                                           states=[state]))
        rate = sims / seconds
        print(f"| one game, k={k} leaves/step | {rate:,.0f} sims/s | unbatched network "
              f"ceiling {unbatched:,.0f}/s | target >= 2,000: {rate / 2000:.2f}x |")


def section_chess(args) -> None:
    from nets.torch_net import make_evaluate_fn

    game, config, model = default_net("chess")
    evaluate = make_evaluate_fn(model, num_threads=args.threads)
    board = game.parse_position("startpos moves e2e4 e7e5 g1f3 b8c6 f1b5 a7a6 b5a4 g8f6 e1g1")
    for batch, k in ((1, 16), (8, 4), (32, 1)):
        params = dataclasses.replace(config.search, simulations=args.chess_sims,
                                     leaves_per_step=k)
        run_search(game, evaluate, params, batch, 10, states=[board] * batch)
        wrapped, spent = timed_evaluate(evaluate)
        t = time.perf_counter()
        run_search(game, wrapped, params, batch, args.chess_sims, states=[board] * batch)
        seconds = time.perf_counter() - t
        rate = batch * args.chess_sims / seconds
        print(f"| chess 6x64 net, B={batch}, k={k} | {rate:,.0f} sims/s | outside the network "
              f"{1 - spent[0] / seconds:.0%} |")


def section_startup(args) -> None:
    """Wall time of the whole command, numpy network (the default) and torch, alternating."""
    cmd = [sys.executable, "-m", "alphazero", "analyse", "connect4", "--sims", "100"]
    backends = ("auto", "torch")
    times: dict[str, list[float]] = {backend: [] for backend in backends}
    for backend in backends:  # warm the Numba cache and the file cache
        subprocess.run([*cmd, "--backend", backend], input="4453\n", capture_output=True,
                       text=True, check=True)
    for _ in range(args.repeats):
        for backend in backends:
            t = time.perf_counter()
            subprocess.run([*cmd, "--backend", backend], input="4453\n", capture_output=True,
                           text=True, check=True)
            times[backend].append(time.perf_counter() - t)
    for backend in backends:
        best = min(times[backend])
        print(f"| startup `alphazero analyse connect4 --sims 100 --backend {backend}`, one "
              f"position, warm cache | best {best:.2f} s, median {np.median(times[backend]):.2f}"
              f" s | target < 2 s: {2 / best:.2f}x |")


SECTIONS = {"overhead": section_overhead, "phases": section_phases,
            "network": section_network, "single": section_single, "chess": section_chess,
            "startup": section_startup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("section", choices=[*SECTIONS, "all"])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--sims", type=int, default=800)
    parser.add_argument("--net-sims", type=int, default=200)
    parser.add_argument("--single-sims", type=int, default=800)
    parser.add_argument("--chess-sims", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for name, fn in SECTIONS.items():
        if args.section in (name, "all"):
            fn(args)


if __name__ == "__main__":
    main()
