"""Positions per second of the search's `evaluate` function, engine by engine, shipped networks.

For each shipped network (Connect Four and chess by default), thread count and batch size, time
`evaluate` on observations of real positions (random legal play from the start) with their legal
masks, for each engine: torch eager, a frozen TorchScript trace, the trace through oneDNN
("mkldnn"), the numpy network, ONNX Runtime fp32 ("onnx"), the project's static int8 form
("onnx-int8") and ONNX Runtime's own dynamic int8 quantisation ("ort-dynamic-int8"). Engines
are timed round-robin and the best of several windows kept, so a noisy shared machine hurts
every engine alike. Prints a Markdown table with each engine's
ratio to torch eager, and each engine's largest output difference from eager. "onnx-int8" is the
project's int8 backend (static: per-channel int8 weights, uint8 activations calibrated on 512
random-playout positions); "ort-dynamic-int8" is ONNX Runtime's own dynamic quantisation.

    python benchmarks/bench_network.py
    python benchmarks/bench_network.py --nets connect4 --batches 16 64 --threads 1
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from games import get_game
from nets.loader import shipped_checkpoint
from nets.numpy_net import load_numpy_model, make_numpy_evaluate_fn
from nets.torch_net import load_model, make_evaluate_fn

ENGINES = ("eager", "trace", "mkldnn", "numpy", "onnx", "onnx-int8", "ort-dynamic-int8")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    nets = ["tictactoe", "connect4", "chess"]
    p.add_argument("--nets", nargs="+", default=["connect4", "chess"], choices=nets,
                   help="shipped networks to time")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64, 256])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    p.add_argument("--repeats", type=int, default=5, help="timing windows per engine; best kept")
    p.add_argument("--window", type=float, default=0.2, help="seconds per timing window")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def sample_positions(game_name: str, count: int, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(observations float32[count, C, H, W], legal masks bool[count, A]) of positions reached
    by random legal play from the start (restarting at each game's end)."""
    game = get_game(game_name)
    observations, masks = [], []
    state = game.initial_state()
    while len(observations) < count:
        if game.is_terminal(state):
            state = game.initial_state()
            continue
        mask = np.asarray(game.legal_mask(state), np.bool_)
        observations.append(game.encode(state))
        masks.append(mask)
        state = game.apply(state, int(rng.choice(np.flatnonzero(mask))))
    return np.stack(observations).astype(np.float32), np.stack(masks)


def engine_fns(game_name: str, engines: list[str], threads: int) -> dict[str, object]:
    path = shipped_checkpoint(game_name)
    model, _ = load_model(path)
    fns: dict[str, object] = {}
    for engine in engines:
        if engine in ("eager", "trace", "mkldnn"):
            fns[engine] = make_evaluate_fn(model, "cpu", num_threads=threads, use_jit=engine)
        elif engine == "numpy":
            fns[engine] = make_numpy_evaluate_fn(load_numpy_model(path)[0])
        elif engine == "onnx":
            from nets.onnx_net import load_onnx_model, make_onnx_evaluate_fn
            fns[engine] = make_onnx_evaluate_fn(load_onnx_model(path, num_threads=threads)[0])
        elif engine == "onnx-int8":
            from nets.backends import playout_observations
            from nets.onnx_net import load_onnx_model, make_onnx_evaluate_fn
            calibration = playout_observations(get_game(game_name))
            fns[engine] = make_onnx_evaluate_fn(load_onnx_model(
                path, num_threads=threads, calibration=calibration)[0])
        elif engine == "ort-dynamic-int8":
            fns[engine] = int8_evaluate(path, threads)
    torch.set_num_threads(threads)
    return fns


def int8_evaluate(path, threads: int):
    """ONNX Runtime's dynamic int8 quantisation of the fp32 graph (weights int8, activations
    quantised per call), as an evaluate function."""
    import os
    import tempfile

    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from nets.checkpoint import network_shape, read_checkpoint_arrays
    from nets.numpy_net import checked_inputs
    from nets.onnx_net import onnx_graph, session_options

    checkpoint = read_checkpoint_arrays(path)
    config, shape, actions = network_shape(path, checkpoint, None)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
        with open(src, "wb") as f:
            f.write(onnx_graph(config, shape, actions, checkpoint["model"]))
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
        session = ort.InferenceSession(dst, session_options(threads),
                                       providers=["CPUExecutionProvider"])

    def evaluate(observations, legal_masks):
        observations, legal_masks = checked_inputs(observations, legal_masks, shape, actions)
        return tuple(session.run(None, {"observations": observations,
                                        "legal_masks": legal_masks}))

    return evaluate


def positions_per_second(evaluate_fns: dict[str, object], observations: np.ndarray,
                         masks: np.ndarray, *, repeats: int, window: float) -> dict[str, float]:
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


def max_difference(evaluate_fns: dict[str, object], observations: np.ndarray,
                   masks: np.ndarray) -> dict[str, float]:
    """Each engine's largest |difference| from eager over the legal logits and the values."""
    ref_logits, ref_values = evaluate_fns["eager"](observations, masks)
    out = {}
    for name, evaluate in evaluate_fns.items():
        logits, values = evaluate(observations, masks)
        out[name] = float(max(np.abs(logits - ref_logits)[masks].max(),
                              np.abs(values - ref_values).max()))
    return out


def main() -> None:
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    import onnxruntime

    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"{platform.processor() or platform.machine()}; shipped networks; positions/s, best "
          f"of {args.repeats} x {args.window}s windows\n")
    engines = list(args.engines)
    if "eager" not in engines:
        engines.insert(0, "eager")
    header = ["net", "threads", "batch", *engines, *[f"{e}/eager" for e in engines[1:]]]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    diffs: dict[str, dict[str, float]] = {}
    for net_name in args.nets:
        observations_all, masks_all = sample_positions(net_name, max(args.batches), rng)
        for threads in args.threads:
            fns = engine_fns(net_name, engines, threads)
            diffs[net_name] = max_difference(fns, observations_all, masks_all)
            for batch in args.batches:
                rates = positions_per_second(fns, observations_all[:batch], masks_all[:batch],
                                             repeats=args.repeats, window=args.window)
                row = [net_name, str(threads), str(batch), *[f"{rates[e]:.0f}" for e in engines],
                       *[f"{rates[e] / rates['eager']:.2f}" for e in engines[1:]]]
                print("| " + " | ".join(row) + " |", flush=True)
    print("\nlargest |difference| from eager (legal logits and values), "
          f"batch {max(args.batches)}:")
    for net_name, d in diffs.items():
        print(f"  {net_name}: " + ", ".join(f"{e} {v:.1e}" for e, v in d.items() if e != "eager"))


if __name__ == "__main__":
    main()
