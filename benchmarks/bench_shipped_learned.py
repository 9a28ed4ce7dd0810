"""A learned search against the best hand-written arm on fresh solver-labelled positions.

    python benchmarks/bench_shipped_learned.py --weights W [--seed 3] [--budgets 8,16,64,128]

The issue-16 test of shipped weights: on ``--positions`` positions of labelled seed
``--seed`` (choose one nothing has used: 0 is ablate's evaluation split, 1 the learned
search's training split, 2 the tuning split), the share of optimal moves of PUCT, PUCT with
c_init tuned per budget on ``--tuning`` positions of seed 2, Gumbel with root noise (its
``--gumbel-seeds`` seeds averaged per position) and without, and the learned search of
``--weights`` (every part it holds); then, per budget, the paired bootstrap 95% interval of
learned minus each hand-written arm and minus the best of them (picked on the same positions,
which favours the baseline).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alphazero.ablate.arms import Split, arm_setup, search_positions, tune_c_init  # noqa: E402
from alphazero.ablate.config import TRAINING_SEED, TUNING_SEED  # noqa: E402
from alphazero.config import load_config  # noqa: E402
from alphazero.eval.labelled import labelled_positions  # noqa: E402
from alphazero.eval.stats import paired_bootstrap  # noqa: E402
from games import get_game  # noqa: E402
from nets.loader import resolve_evaluate  # noqa: E402
from nets.search_weights import LearnedSearch  # noqa: E402

GRID = (0.5, 0.75, 1.0, 1.25, 1.75, 2.5, 3.5)
HANDWRITTEN = ("puct", "puct_tuned", "gumbel", "gumbel_greedy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="learned search weights")
    parser.add_argument("--checkpoint", default="shipped", help="network (default: shipped)")
    parser.add_argument("--seed", type=int, default=3, help="labelled seed of the positions")
    parser.add_argument("--positions", type=int, default=1000)
    parser.add_argument("--tuning", type=int, default=500, help="seed-2 positions for c_init")
    parser.add_argument("--budgets", default="8,16,64,128")
    parser.add_argument("--gumbel-seeds", type=int, default=3)
    parser.add_argument("--backend", default="onnx")
    parser.add_argument("--out", help="JSON of the per-position answers and intervals")
    args = parser.parse_args(argv)
    if args.seed in (TRAINING_SEED, TUNING_SEED):
        parser.error(f"--seed {args.seed} is a training or tuning split")
    game = get_game("connect4")
    config = load_config("connect4")
    weights = LearnedSearch.load(args.weights, expected_game="connect4").weights()
    evaluate, note = resolve_evaluate(game, config.network, args.checkpoint,
                                      backend=args.backend)
    split = Split.of(labelled_positions(game, args.positions, seed=args.seed), game.num_actions)
    tuning = Split.of(labelled_positions(game, args.tuning, seed=TUNING_SEED), game.num_actions)
    print(f"{note}; {len(split.positions)} positions of labelled seed {args.seed}; learned "
          f"search {args.weights} (backup: {'yes' if weights.backup.size else 'no'})",
          flush=True)
    out = {"weights": args.weights, "seed": args.seed, "rows": []}
    print("| sims | " + " | ".join(HANDWRITTEN) + " | learned | learned - best [95%] |")
    print("|---|" + "---|" * (len(HANDWRITTEN) + 2))
    for budget in (int(b) for b in args.budgets.split(",")):
        c, _ = tune_c_init(game, evaluate, config.search, tuning, budget, GRID, batch_size=128)
        optimal = {}
        for arm in (*HANDWRITTEN, "learned"):
            setup = arm_setup(arm, config.search, weights=weights, c_init=c)
            seeds = range(args.gumbel_seeds) if setup.noise else range(1)
            optimal[arm] = np.mean([split.score(search_positions(
                game, evaluate, setup, split.states, budget, seed=s, batch_size=128).action,
                np.zeros(len(split.states)))["optimal_share"] for s in seeds], axis=0)
        best = max(HANDWRITTEN, key=lambda a: optimal[a].mean())
        diffs = {arm: paired_bootstrap(optimal["learned"], optimal[arm], resamples=2000)
                 for arm in HANDWRITTEN}
        iv = diffs[best]
        print(f"| {budget} | " + " | ".join(f"{100 * optimal[a].mean():.1f}" for a in HANDWRITTEN)
              + f" | {100 * optimal['learned'].mean():.1f} | {100 * iv.estimate:+.1f} "
              f"[{100 * iv.low:+.1f}, {100 * iv.high:+.1f}] vs {best} |", flush=True)
        out["rows"].append({"budget": budget, "c_init": c, "best": best,
                            **{arm: v.tolist() for arm, v in optimal.items()},
                            "diff": {arm: [d.estimate, d.low, d.high]
                                     for arm, d in diffs.items()}})
    if args.out:
        Path(args.out).write_text(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
