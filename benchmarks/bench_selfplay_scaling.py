"""Self-play throughput with 1 worker against 2 workers (Ray actors, one CPU each).

Each worker is the training's ``SelfPlayActor`` (a ``SelfPlayWorker`` playing
``games_per_worker`` games at once with its own CPU network copy, one torch thread), driven the
way ``alphazero train`` drives it: two ``play`` calls queued per worker, results collected with
``ray.wait``. The network is freshly initialised (the speed does not depend on its weights).
After a warm-up call, games, moves and simulations are counted over wall-clock windows, 1 and
2 workers in turn for several rounds; the best window of each setting gives the ratio, so a
burst of load from other jobs on a shared machine hurts only the windows it falls in. Ray runs
workers at nice 15, so they only get the CPU other jobs leave: each row also gives the CPU time
the workers got (from /proc) and the work per CPU-second. If 2 workers do as much per
CPU-second as 1, two free cores give twice the throughput.

    python benchmarks/bench_selfplay_scaling.py                       # connect4, 3 x 30 s
    python benchmarks/bench_selfplay_scaling.py --game tictactoe --rounds 2
    python benchmarks/bench_selfplay_scaling.py --nice 0    # compete with other jobs evenly
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import ray
import torch

from alphazero.config import load_config
from games import get_game
from nets.torch_net import PolicyValueNet
from nets.weights import numpy_weights
from selfplay.actors import start_workers


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def measure(workers: list, pids: list[int], seconds: float) -> dict[str, float]:
    """Games, moves and simulations per second of ``workers`` over ``seconds``, and per
    CPU-second the workers actually got."""
    cpu_start = cpu_seconds(pids)
    pending = {}
    for i, w in enumerate(workers):
        for _ in range(2):
            pending[w.play.options(num_returns=2).remote()[1]] = i
    totals = {"games": 0, "moves": 0, "simulations": 0}
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        ready, _ = ray.wait(list(pending), num_returns=1)
        i = pending.pop(ready[0])
        stats = ray.get(ready[0])
        for key in totals:
            totals[key] += stats[key]
        pending[workers[i].play.options(num_returns=2).remote()[1]] = i
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(pids) - cpu_start  # includes queued calls' work done meanwhile: small
    ray.wait(list(pending), num_returns=len(pending))  # let queued calls drain
    out = {f"{k}/s": v / elapsed for k, v in totals.items()}
    out["cpu"] = cpu / elapsed  # cores the workers got on average
    out["simulations/cpu_s"] = totals["simulations"] / max(cpu, 1e-9)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--game", default="connect4")
    p.add_argument("--config", help="config file (default: alphazero/configs/GAME.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--seconds", type=float, default=30.0, help="length of a window")
    p.add_argument("--rounds", type=int, default=3, help="windows per setting, interleaved")
    p.add_argument(
        "--nice",
        type=int,
        help="set the workers' niceness (Ray's default is 15; "
        "0 competes with other jobs on equal terms; lowering it needs root)",
    )
    args = p.parse_args()
    config = load_config(args.config or args.game, args.set)
    game = get_game(config.game)
    ray.init(
        address="local",
        num_cpus=max(2, os.cpu_count() or 1),
        include_dashboard=False,
        object_store_memory=1 << 29,
    )
    torch.manual_seed(0)
    model = PolicyValueNet(config.network, game.observation_shape, game.num_actions)
    weights = ray.put(numpy_weights(model))
    workers = start_workers(2, game.name, config.network, config.search, config.selfplay, seed=0,
                            backend=config.backend)
    ray.get([w.set_weights.remote(1, weights) for w in workers])
    pids = ray.get([w.__ray_call__.remote(lambda self: os.getpid()) for w in workers])
    if args.nice is not None:
        for pid in pids:
            os.setpriority(os.PRIO_PROCESS, pid, args.nice)
    ray.get([w.play.options(num_returns=2).remote()[1] for w in workers])  # warm-up
    s, n = config.search, config.network
    print(
        f"{game.name}: {s.arm} {config.selfplay.simulations or s.simulations} simulations, net "
        f"{n.blocks}x{n.channels}, {config.selfplay.games_per_worker} games per worker, "
        f"{args.rounds} rounds of {args.seconds:.0f} s windows, {os.cpu_count()} CPUs, workers "
        f"at nice {os.getpriority(os.PRIO_PROCESS, pids[0])}"
    )
    print(
        "| round | workers | games/s | moves/s | simulations/s | CPU cores used | simulations "
        "per CPU-second | load average before |"
    )
    print("|---|---|---|---|---|---|---|---|")
    best: dict[int, dict[str, float]] = {}
    for round_ in range(1, args.rounds + 1):
        for count in (1, 2):
            load = os.getloadavg()[0]
            r = measure(workers[:count], pids[:count], args.seconds)
            if count not in best or r["simulations/s"] > best[count]["simulations/s"]:
                best[count] = r
            print(
                f"| {round_} | {count} | {r['games/s']:.2f} | {r['moves/s']:.1f} | "
                f"{r['simulations/s']:,.0f} | {r['cpu']:.2f} | {r['simulations/cpu_s']:,.0f} | "
                f"{load:.1f} |",
                flush=True,
            )
    one, two = best[1], best[2]
    print(
        f"best windows, 2 workers / 1 worker: {two['simulations/s'] / one['simulations/s']:.2f}x "
        f"simulations/s, {two['games/s'] / max(one['games/s'], 1e-9):.2f}x games/s (wall "
        f"clock; the workers got {two['cpu']:.2f} vs {one['cpu']:.2f} cores)"
    )
    efficiency = two["simulations/cpu_s"] / one["simulations/cpu_s"]
    print(
        f"per CPU-second, 2 workers do {efficiency:.2f}x the work of 1: with a free core "
        f"each, 2 workers would give {2 * efficiency:.2f}x"
    )
    ray.shutdown()


if __name__ == "__main__":
    main()
