"""Learner CPU per publication (``SearchTrainer.step``) with and without the tandem backup ES.

    python benchmarks/bench_tandem_backup_cost.py [--pairs 4] [--repeats 6]

The shipped Connect Four network (the config's backend), 256 random-opening roots, the
recipe's ``search_training`` defaults, and ``backup_pairs`` 0 against ``--pairs``: one
warm-up publication a side, then ``--repeats`` timed ones a side, alternating; prints each
side's CPU seconds and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alphazero.config import load_config  # noqa: E402
from alphazero.learned.tandem import SearchTrainer  # noqa: E402
from games import get_game  # noqa: E402
from games.base import random_states  # noqa: E402
from nets.loader import resolve_model  # noqa: E402
from nets.weights import numpy_weights  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4, help="backup_pairs of the ES side")
    parser.add_argument("--repeats", type=int, default=6, help="timed publications a side")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.repeats < 1:
        parser.error("--pairs and --repeats must be >= 1")
    game = get_game("connect4")
    roots = np.stack(random_states(game, 256, np.random.default_rng(0), plies=(2, 12)))
    trainers = {}
    for pairs in (0, args.pairs):
        cfg = load_config("connect4", ["search.arm=learned", "search_training.enabled=true",
                                       f"search_training.backup_pairs={pairs}"])
        model, _ = resolve_model(game, cfg.network, "shipped")
        weights = numpy_weights(model)
        trainer = SearchTrainer(game, cfg)
        trainer.add_roots(roots)
        trainer.step(weights)  # warm-up: compiles the kernels
        trainers[pairs] = (trainer, weights)
    times: dict[int, list[float]] = {pairs: [] for pairs in trainers}
    for rep in range(args.repeats):
        for pairs in (list(trainers) if rep % 2 == 0 else list(trainers)[::-1]):
            trainer, weights = trainers[pairs]
            started = time.process_time()
            trainer.step(weights)
            times[pairs].append(time.process_time() - started)
    for pairs, values in times.items():
        print(f"backup_pairs {pairs}: CPU s per publication "
              f"{', '.join(f'{v:.3f}' for v in values)}; median {np.median(values):.3f}")
    print(f"ratio of medians: {np.median(times[args.pairs]) / np.median(times[0]):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
