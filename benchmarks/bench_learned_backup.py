"""The learned backup against PUCT on held-out Connect Four positions.

    python benchmarks/bench_learned_backup.py --weights runs/connect4-search-X/search.pt \
        [--checkpoint shipped] [--budgets 8,16,64] [--positions 1000]

Searches the held-out split (labelled seed 0: never a training split) with PUCT and with the
learned search restricted to its backup (``ablate``'s ``learned_backup`` arm: PUCT's selection
and readout, the learned backup) at each budget; prints the share of optimal moves of each and
the paired bootstrap 95% interval of their difference. The pre-registered run is in
docs/learned_search.md ("A learned backup").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alphazero.ablate.arms import Split, arm_setup, search_positions  # noqa: E402
from alphazero.config import load_config  # noqa: E402
from alphazero.eval.labelled import labelled_positions  # noqa: E402
from alphazero.eval.stats import paired_bootstrap  # noqa: E402
from games import get_game  # noqa: E402
from nets.loader import resolve_evaluate  # noqa: E402
from nets.search_weights import LearnedSearch  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="learned search with a backup")
    parser.add_argument("--checkpoint", default="shipped", help="network (default: shipped)")
    parser.add_argument("--budgets", default="8,16,64", help="comma-separated simulations")
    parser.add_argument("--positions", type=int, default=1000, help="held-out positions")
    parser.add_argument("--backend", default="onnx", help="network backend (nets.backends)")
    parser.add_argument("--arm", default="learned_backup",
                        help="the learned arm to compare (learned_backup or learned)")
    parser.add_argument("--out", help="JSON of the per-position answers and intervals")
    args = parser.parse_args(argv)
    game = get_game("connect4")
    config = load_config("connect4")
    learned = LearnedSearch.load(args.weights, expected_game="connect4")
    if learned.backup is None:
        parser.error(f"{args.weights} has no learned backup (train-search --backup-iterations)")
    evaluate, note = resolve_evaluate(game, config.network, args.checkpoint,
                                      backend=args.backend)
    split = Split.of(labelled_positions(game, args.positions, seed=0), game.num_actions)
    arms = {"puct": arm_setup("puct", config.search),
            args.arm: arm_setup(args.arm, config.search, weights=learned.weights())}
    print(f"{note}; backup weights {', '.join(f'{w:+.3f}' for w in learned.backup)}; "
          f"{len(split.positions)} held-out positions (labelled seed 0)")
    print(f"| simulations | PUCT | {args.arm} | difference [95%] |\n|---|---|---|---|")
    results = {"weights": args.weights, "backup": learned.backup.tolist(), "rows": []}
    for budget in (int(b) for b in args.budgets.split(",")):
        optimal = {}
        for name, setup in arms.items():
            run = search_positions(game, evaluate, setup, split.states, budget, seed=0,
                                   batch_size=128)
            optimal[name] = split.score(run.action, run.value)["optimal_share"]
        iv = paired_bootstrap(optimal[args.arm], optimal["puct"], resamples=2000)
        print(f"| {budget} | {100 * optimal['puct'].mean():.1f} | "
              f"{100 * optimal[args.arm].mean():.1f} | {100 * iv.estimate:+.1f} "
              f"[{100 * iv.low:+.1f}, {100 * iv.high:+.1f}] |", flush=True)
        results["rows"].append({"budget": budget, "puct": optimal["puct"].tolist(),
                                args.arm: optimal[args.arm].tolist(),
                                "diff": [iv.estimate, iv.low, iv.high]})
    if args.out:
        Path(args.out).write_text(json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
