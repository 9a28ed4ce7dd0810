"""Diagnostic: how often do all forced children of a chess deviation decision end with the
same cost (so the decision carries no training signal)?

    python benchmarks/chess_deviation_ties.py   # reads runs/chess-search/search.pt

24 own-play positions (seed 77, not a training seed), the 8x teacher at 1,600 simulations,
one sampled decision per position at budgets 50, 100 and 200 (docs/learned_search.md, Chess).
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from alphazero.config import TrainSearchConfig, load_config  # noqa: E402
from alphazero.learned.positions import own_play_positions  # noqa: E402
from alphazero.learned.training import (  # noqa: E402
    deviation_batch,
    sample_decisions,
    teacher_costs,
)
from games import get_game  # noqa: E402
from nets.loader import resolve_evaluate  # noqa: E402
from nets.search_weights import LearnedSearch  # noqa: E402

game = get_game("chess")
cfg = load_config("chess")
ev, _ = resolve_evaluate(game, cfg.network, None, backend="onnx")
states = own_play_positions(game, ev, 24, seed=77)
costs, _ = teacher_costs(game, ev, cfg.search, states, 200, seed=0)
learned = LearnedSearch.load(sys.argv[1] if len(sys.argv) > 1 else "runs/chess-search/search.pt")
rng = np.random.default_rng(5)
tc = TrainSearchConfig(budgets=(50, 100, 200))
out = []
for budget in (50, 100, 200):
    _, sims, depths = sample_decisions(rng, len(states), tc)
    sims = np.minimum(sims, budget - 1)
    b = deviation_batch(game, ev, cfg.search, learned, states, costs, budget, sims, depths,
                        seed=0)
    for p in np.flatnonzero(b["count"] > 0):
        c = b["child_cost"][p, :b["count"][p]]
        out.append((budget, c.max() - c.min() < 1e-9,
                    (np.abs(c - np.median(c)) > 1e-9).mean()))
    rec = [o for o in out if o[0] == budget]
    print(budget, "decisions", len(rec), "all tie", np.mean([o[1] for o in rec]),
          "share of children off the median cost", np.mean([o[2] for o in rec]), flush=True)
