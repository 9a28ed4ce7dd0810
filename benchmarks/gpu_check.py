"""A GPU machine, checked in under five minutes: outputs, the inference server's speed, training.

    bash benchmarks/gpu_check.sh                 # on a machine with CUDA
    bash benchmarks/gpu_check.sh --device cpu    # the same path on the CPU (what the tests run)

1. **Outputs**: the shipped Connect Four and chess networks in torch on ``--device`` against the
   CPU's (ONNX Runtime, the default backend) on 256 random-play positions each: the largest
   |difference| of legal logits and values must stay under ``--tolerance`` (TF32 is switched
   off for the check, so 1e-3 is generous).
2. **Inference server**: Connect Four self-play (the shipped config, a fresh network) with 1, 4
   and 15 workers (``--workers``) sending their leaves to one inference server on ``--device``,
   against the CPU path (each worker with its own CPU network), ``--seconds`` per window, in the
   same run: simulations (network positions) per second.
3. **Training**: ``alphazero train connect4 --set selfplay.inference_server=true`` for
   ``--train-seconds`` (no evaluation ladder), its simulations/s read from the run's
   summary.json.

Prints one summary line, ``gpu_check: OK ...`` or ``gpu_check: FAIL ...``, and exits 1 on any
failure (0 otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def check_outputs(device: str, tolerance: float) -> tuple[bool, str]:
    import torch

    from games import get_game
    from nets.backends import playout_observations
    from nets.loader import SHIPPED_DIR, resolve_evaluate
    from nets.torch_net import load_model, make_evaluate_fn

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    worst = 0.0
    for name in ("connect4", "chess"):
        game = get_game(name)
        observations = playout_observations(game, 256, seed=1)
        masks = np.random.default_rng(0).random((256, game.num_actions)) < 0.5
        masks[:, 0] = True
        model, _ = load_model(SHIPPED_DIR / f"{name}.pt", device=device)
        on_device = make_evaluate_fn(model, device, num_threads=None, use_jit=False)
        cpu, _ = resolve_evaluate(game, checkpoint=SHIPPED_DIR / f"{name}.pt", num_threads=None)
        (dl, dv), (cl, cv) = on_device(observations, masks), cpu(observations, masks)
        worst = max(worst, float(np.abs(dl - cl)[masks].max()), float(np.abs(dv - cv).max()))
    return worst <= tolerance, f"outputs max|diff| {worst:.1e}"


def server_speed(device: str, worker_counts: list[int], seconds: float) -> tuple[bool, str]:
    import ray
    import torch
    from bench_selfplay_scaling import measure

    from alphazero.config import load_config
    from games import get_game
    from nets.torch_net import PolicyValueNet
    from nets.weights import numpy_weights
    from selfplay.actors import start_inference_server, start_workers

    config = load_config("connect4")
    game = get_game("connect4")
    top = max(worker_counts)
    ray.init(address="local", num_cpus=max(top, os.cpu_count() or 1), include_dashboard=False,
             object_store_memory=1 << 29, log_to_driver=False)
    try:
        torch.manual_seed(0)
        model = PolicyValueNet(config.network, game.observation_shape, game.num_actions)
        weights = ray.put(numpy_weights(model))
        server = start_inference_server(game.name, config.network, device=device, clients=top,
                                        max_wait_s=config.selfplay.inference_wait_ms / 1000,
                                        backend=config.backend)
        ray.get(server.set_weights.remote(1, weights))
        served = ray.get(server.device.remote())
        parts, ok = [f"server on {served}"], True
        for count in worker_counts:
            rates = {}
            for path in ("server", "cpu"):
                workers = start_workers(count, game.name, config.network, config.search,
                                        config.selfplay, seed=0, backend=config.backend,
                                        server=server if path == "server" else None)
                ray.get([w.set_weights.remote(1, None if path == "server" else weights)
                         for w in workers])
                pids = ray.get([w.__ray_call__.remote(lambda self: os.getpid())
                                for w in workers])
                ray.get([w.play.options(num_returns=2).remote()[1] for w in workers])  # warm
                rates[path] = measure(workers, pids, seconds)["simulations/s"]
                for w in workers:
                    ray.kill(w)
            ok &= rates["server"] > 0 and rates["cpu"] > 0
            parts.append(f"{count} workers {rates['server']:,.0f} vs cpu {rates['cpu']:,.0f} "
                         f"sims/s ({rates['server'] / max(rates['cpu'], 1e-9):.2f}x)")
        if device != "cpu" and not served.startswith("cuda"):
            return False, "; ".join(parts) + f"; the server runs on {served}, not {device}"
        return ok, "; ".join(parts)
    finally:
        ray.shutdown()


def train_speed(device: str, seconds: float) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "alphazero", "train", "connect4", "--run-dir", str(run_dir),
               "--no-progress", "--set", "selfplay.inference_server=true",
               "--set", f"device={device}", "--set", f"train.minutes={seconds / 60:.4f}",
               "--set", "train.eval_every=0", "--set", "train.min_buffer=2000"]
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 240,
                              check=False)
        wall = time.perf_counter() - started
        summary = run_dir / "summary.json"
        if proc.returncode != 0 or not summary.is_file():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return False, f"train exited {proc.returncode}: {tail}"
        result = json.loads(summary.read_text())
        sims = result["simulations"] / max(result["seconds"], 1e-9)
        return sims > 0, (f"train {result['seconds']:.0f} s: {sims:,.0f} sims/s, "
                          f"{result['step']} steps ({wall:.0f} s with start-up)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default cuda)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 4, 15])
    p.add_argument("--seconds", type=float, default=10.0, help="window per server measurement")
    p.add_argument("--train-seconds", type=float, default=60.0)
    p.add_argument("--tolerance", type=float, default=1e-3)
    args = p.parse_args()
    if args.device != "cpu":
        import torch

        if not torch.cuda.is_available():
            print(f"gpu_check: FAIL no CUDA device (torch {torch.__version__}, "
                  f"cuda {torch.version.cuda}); use --device cpu for the CPU path")
            return 1
    started, parts, ok = time.perf_counter(), [], True
    for step in (lambda: check_outputs(args.device, args.tolerance),
                 lambda: server_speed(args.device, args.workers, args.seconds),
                 lambda: train_speed(args.device, args.train_seconds)):
        try:
            passed, text = step()
        except Exception as err:  # noqa: BLE001 - the summary line names any failure
            passed, text = False, f"{type(err).__name__}: {err}"
        ok &= passed
        parts.append(text)
    parts.append(f"{time.perf_counter() - started:.0f} s")
    print(f"gpu_check: {'OK' if ok else 'FAIL'} device={args.device}; " + "; ".join(parts))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
