"""Positions per second of the search's `evaluate` function (network + numpy boundary).

For each network (Connect Four and chess by default), torch thread count, batch size and way of
running the model (eager, frozen TorchScript trace, trace + oneDNN), time `evaluate` on random
observations with random legal masks. The modes are timed round-robin and the best of several
windows is kept, so a noisy shared machine hurts every mode alike. Prints a Markdown table.

    python benchmarks/bench_network.py
    python benchmarks/bench_network.py --nets connect4 --batches 8 16 32 64 --threads 1
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from nets.torch_net import JIT_MODES, NetworkConfig, PolicyValueNet, make_evaluate_fn


def parse_shape(text: str) -> tuple[int, int, int]:
    parts = tuple(int(p) for p in text.replace("x", ",").split(","))
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"shape must be C,H,W, got {text!r}")
    return parts  # type: ignore[return-value]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    nets = ["connect4", "chess"]
    p.add_argument("--nets", nargs="+", default=nets, choices=nets, help="networks to time")
    p.add_argument("--connect4-shape", type=parse_shape, default=(3, 6, 7), help="C,H,W")
    p.add_argument("--connect4-actions", type=int, default=7)
    p.add_argument("--connect4-blocks", type=int, default=5)
    p.add_argument("--connect4-channels", type=int, default=64)
    p.add_argument("--chess-shape", type=parse_shape, default=(21, 8, 8), help="C,H,W")
    p.add_argument("--chess-actions", type=int, default=4672)
    p.add_argument("--chess-blocks", type=int, default=6)
    p.add_argument("--chess-channels", type=int, default=64)
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 16, 32, 64, 128])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--modes", nargs="+", default=list(JIT_MODES), choices=JIT_MODES)
    p.add_argument("--repeats", type=int, default=7, help="timing windows per mode; best is kept")
    p.add_argument("--window", type=float, default=0.15, help="seconds per timing window")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def positions_per_second(
    evaluate_fns: dict[str, object],
    observations: np.ndarray,
    masks: np.ndarray,
    *,
    repeats: int,
    window: float,
) -> dict[str, float]:
    """Best-of-`repeats` throughput of each evaluate function, timed round-robin."""
    batch = observations.shape[0]
    best = {name: float("inf") for name in evaluate_fns}  # seconds per call
    for evaluate in evaluate_fns.values():
        for _ in range(3):  # warm-up (the first traced calls run the profiling executor)
            evaluate(observations, masks)
    for _ in range(repeats):
        for name, evaluate in evaluate_fns.items():
            calls, start = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - start) < window:
                evaluate(observations, masks)
                calls += 1
            best[name] = min(best[name], elapsed / calls)
    return {name: batch / seconds for name, seconds in best.items()}


def main() -> None:
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    specs = {
        "connect4": (args.connect4_shape, args.connect4_actions, args.connect4_blocks,
                     args.connect4_channels),
        "chess": (args.chess_shape, args.chess_actions, args.chess_blocks, args.chess_channels),
    }
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} default threads; positions/s, best of {args.repeats} "
          f"x {args.window}s windows\n")
    header = ["net", "threads", "batch", *args.modes]
    if "eager" in args.modes:
        header += [f"{m}/eager" for m in args.modes if m != "eager"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for net_name in args.nets:
        shape, num_actions, blocks, channels = specs[net_name]
        model = PolicyValueNet(NetworkConfig(blocks=blocks, channels=channels), shape, num_actions)
        label = f"{net_name} {blocks}x{channels} {'x'.join(map(str, shape))}"
        for threads in args.threads:
            evaluate_fns = {
                mode: make_evaluate_fn(model, "cpu", num_threads=threads, use_jit=mode)
                for mode in args.modes
            }
            torch.set_num_threads(threads)
            for batch in args.batches:
                observations = rng.standard_normal((batch, *shape)).astype(np.float32)
                masks = rng.random((batch, num_actions)) < 0.5
                rates = positions_per_second(
                    evaluate_fns, observations, masks, repeats=args.repeats, window=args.window
                )
                row = [label, str(threads), str(batch)] + [f"{rates[m]:.0f}" for m in args.modes]
                if "eager" in args.modes:
                    row += [f"{rates[m] / rates['eager']:.2f}" for m in args.modes if m != "eager"]
                print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
