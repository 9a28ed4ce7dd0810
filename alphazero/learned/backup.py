"""Training the learned backup (``search.kernels.backup_mix``) without a gradient.

The backup decides how an evaluation's value reaches the ancestors of its leaf: at each one,
how far toward that node's best child (``w = clip(theta . features, 0, 1)``; 0 is the mean
backup). No gradient flows through that choice to the search's final move, and the one-step
deviations that train the selection have no analogue (a backup is not a choice among
children), so the four weights are trained by antithetic evolution strategies: for each of
``backup_pairs`` Gaussian directions ``e``, the same positions are searched with ``theta +
sigma e`` and ``theta - sigma e`` (deterministic searches: the pair differs only by the
weights), and ``theta`` moves along ``-sum (cost+ - cost-) e / (2 sigma)`` by Adam. The cost is
the one ``alphazero.learned.training`` uses (solver or the k-x search teacher).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from alphazero.config import TrainSearchConfig
from alphazero.learned.training import search_cost
from nets.search_weights import LearnedSearch
from search import SearchParams
from search.learned import BACKUP_SIZE, LearnedWeights


def train_backup(game, evaluate, params: SearchParams, states: list, costs: np.ndarray,
                 cfg: TrainSearchConfig, *, learned: LearnedSearch,
                 log: Callable[[int, dict], None] | None = None) -> LearnedSearch:
    """``cfg.backup_iterations`` ES steps on ``learned.backup`` (from zero if unset), with the
    rest of ``learned`` (selection, readout) fixed; returns ``learned`` with the new backup."""
    base = learned.weights()
    start = np.zeros(BACKUP_SIZE) if learned.backup is None else learned.backup
    theta = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    optimiser = torch.optim.Adam([theta], lr=cfg.backup_lr)
    rng = np.random.default_rng([cfg.seed, 11])
    sigma = cfg.backup_sigma

    def cost(weights: np.ndarray, chosen: list, chosen_costs: np.ndarray, budget: int) -> float:
        mine = LearnedWeights(base.selection, base.readout, base.target, weights)
        return search_cost(game, evaluate, params, mine, chosen, chosen_costs, budget)

    for it in range(cfg.backup_iterations):
        idx = rng.choice(len(states), size=min(cfg.positions_per_batch, len(states)),
                         replace=False)
        budget = int(rng.choice(cfg.budgets))
        chosen, chosen_costs = [states[i] for i in idx], costs[idx]
        now = theta.detach().numpy().copy()
        directions = rng.standard_normal((cfg.backup_pairs, BACKUP_SIZE))
        diffs, means = [], []
        for e in directions:
            plus = cost(now + sigma * e, chosen, chosen_costs, budget)
            minus = cost(now - sigma * e, chosen, chosen_costs, budget)
            diffs.append(plus - minus)
            means.append(0.5 * (plus + minus))
        grad = (np.asarray(diffs)[:, None] * directions).sum(axis=0) / (2 * sigma * len(diffs))
        optimiser.zero_grad()
        theta.grad = torch.as_tensor(grad, dtype=torch.float64)
        optimiser.step()
        if log is not None:
            log(it, {"charts/search_cost": float(np.mean(means)), "charts/budget": budget,
                     "backup/grad_norm": float(np.linalg.norm(grad)),
                     **{f"backup/w{j}": float(v) for j, v in enumerate(theta.detach())}})
    learned.backup = theta.detach().numpy().astype(np.float64).copy()
    return learned
