"""The chess learned search against PUCT at the same and at twice the budget.

    python benchmarks/bench_chess_learned.py --weights runs/chess-search/search.pt \
        --budgets 50,100,200 --out runs/chess-search/bench.json

On the oracle sets of ``alphazero.eval.chess_oracle`` (stored labels, no live engine): the
held-out Stockfish positions whose best move beats the second by >= ``--min-gap`` centipawns,
and Win At Chess. For every N of ``--budgets`` it searches each position with PUCT at N and
2N and with the learned search (selection + readout, ``ablate``'s ``learned`` arm) at N, and
reports the share of positions where the arm plays a best move, with 95% bootstrap
intervals, and the paired bootstrap interval of learned(N) - PUCT(2N) and learned(N) -
PUCT(N). Every arm is a fresh deterministic search per position (no tree shared between
budgets), ``--batch`` positions at a time, on one thread; CPU seconds are per arm.

Why not ``alphazero ablate``: its arms study is built on solver-labelled splits (c_init tuned
on a third split, solver-balanced openings for matches, strata of stones); chess has none of
those, so this script reuses only its arms (``arm_setup``) and intervals.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alphazero.ablate.arms import arm_setup  # noqa: E402
from alphazero.config import load_config  # noqa: E402
from alphazero.eval.chess_oracle import oracle_sets  # noqa: E402
from alphazero.eval.stats import bootstrap_mean, paired_bootstrap  # noqa: E402
from games import get_game  # noqa: E402
from nets.loader import resolve_evaluate  # noqa: E402
from nets.search_weights import LearnedSearch  # noqa: E402
from search.states import search_states  # noqa: E402


def solve(game, evaluate, setup, oracle, budget: int, batch: int) -> tuple[np.ndarray, float]:
    """(solved float[P], CPU seconds) of one arm at one budget on one oracle set."""
    started = time.process_time()
    run = search_states(game, evaluate, setup.at(budget), oracle.states, batch_size=batch,
                        seed=0, learned=setup.learned)
    return oracle.solved(run.action), time.process_time() - started


def measure(game, evaluate, params, weights, oracle, budgets, batch: int, resamples: int,
            log=print) -> dict:
    """Every arm's solved vector and CPU time, and the paired differences, on ``oracle``."""
    puct = arm_setup("puct", params)
    learned = arm_setup("learned", params, weights=weights)
    solved, cpu = {}, {}
    for b in sorted(set(budgets) | {2 * n for n in budgets}):
        solved[f"puct@{b}"], cpu[f"puct@{b}"] = solve(game, evaluate, puct, oracle, b, batch)
        log(f"  {oracle.name} puct@{b}: {solved[f'puct@{b}'].mean():.3f} "
            f"({cpu[f'puct@{b}']:.0f} s)")
    for b in budgets:
        key = f"learned@{b}"
        solved[key], cpu[key] = solve(game, evaluate, learned, oracle, b, batch)
        log(f"  {oracle.name} {key}: {solved[key].mean():.3f} ({cpu[key]:.0f} s)")
    rows = []
    for n in budgets:
        mine = solved[f"learned@{n}"]
        row = {"n": n, "positions": len(mine)}
        for arm in (f"puct@{n}", f"puct@{2 * n}", f"learned@{n}"):
            iv = bootstrap_mean(solved[arm], resamples=resamples)
            row[arm] = {"share": iv.estimate, "low": iv.low, "high": iv.high, "cpu_s": cpu[arm]}
        for label, base in (("vs_puct_2n", f"puct@{2 * n}"), ("vs_puct_n", f"puct@{n}")):
            iv = paired_bootstrap(mine, solved[base], resamples=resamples)
            row[label] = {"diff": iv.estimate, "low": iv.low, "high": iv.high}
        rows.append(row)
    return {"rows": rows, "solved": {k: v.tolist() for k, v in solved.items()},
            "names": [p.name for p in oracle.positions]}


def table(name: str, result: dict) -> str:
    lines = [f"{name} ({result['rows'][0]['positions']} positions): share of best moves, %",
             "| N | PUCT N | PUCT 2N | learned N | learned N - PUCT 2N | learned N - PUCT N |",
             "|---|---|---|---|---|---|"]
    for row in result["rows"]:
        n = row["n"]

        def share(arm: str) -> str:
            s = row[arm]
            return f"{100 * s['share']:.1f} [{100 * s['low']:.1f}, {100 * s['high']:.1f}]"

        def diff(key: str) -> str:
            d = row[key]
            return f"{100 * d['diff']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"

        lines.append(f"| {n} | {share(f'puct@{n}')} | {share(f'puct@{2 * n}')} | "
                     f"{share(f'learned@{n}')} | {diff('vs_puct_2n')} | {diff('vs_puct_n')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="learned search (train-search output)")
    parser.add_argument("--checkpoint", help="network (default: the shipped chess network)")
    parser.add_argument("--budgets", default="50,100,200", help="comma-separated N")
    parser.add_argument("--sets", default="heldout,wac", help="oracle sets to run")
    parser.add_argument("--min-gap", type=float, default=200.0, help="held-out gap, cp")
    parser.add_argument("--limit", type=int, help="at most this many positions per set")
    parser.add_argument("--backend", default="onnx", help="network backend (nets.backends)")
    parser.add_argument("--batch", type=int, default=128, help="positions searched at once")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--out", help="JSON of every arm's per-position answers and intervals")
    args = parser.parse_args(argv)
    budgets = [int(b) for b in args.budgets.split(",")]
    game = get_game("chess")
    config = load_config("chess")
    evaluate, note = resolve_evaluate(game, config.network, args.checkpoint,
                                      backend=args.backend)
    weights = LearnedSearch.load(args.weights).weights()
    sets = oracle_sets(min_gap=args.min_gap, limit=args.limit)
    wanted = args.sets.split(",")
    unknown = [s for s in wanted if s not in sets]
    if unknown:
        parser.error(f"unknown set {unknown[0]!r} (known: {', '.join(sets)})")
    print(f"network: {note}; learned search {args.weights}; budgets {budgets}", flush=True)
    results = {"budgets": budgets, "weights": args.weights, "network": note,
               "min_gap": args.min_gap, "sets": {}}
    for name in wanted:
        results["sets"][name] = measure(game, evaluate, config.search, weights, sets[name],
                                        budgets, args.batch, args.resamples,
                                        log=lambda text: print(text, flush=True))
        print(table(name, results["sets"][name]), flush=True)
        if args.out:  # after every set: a stopped run keeps the finished ones
            Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
