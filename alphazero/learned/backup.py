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

Adam's steps are about ``lr`` long whatever the gradient's quality, so the weights move even
when the pairs carry no signal. ``es_gradient`` therefore also returns each step's pair
agreement: the unbiased estimate of |E g|^2 from the pairs' own estimates g_i (the mean of
g_i . g_j over i != j), over the mean |g_i|^2. It is 0 in expectation when the cost
differences are noise, whatever the number of pairs, and 1 / (d + 2) (d = 4 weights: 0.17)
for a cost exactly linear in the weights. Its mean over the run and that mean's z-score are
kept in the weights' ``meta``: z near 0 says the weights drifted, not learned.
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


def es_gradient(diffs: np.ndarray, directions: np.ndarray, sigma: float
                ) -> tuple[np.ndarray, float]:
    """The antithetic ES estimate of the cost's gradient, ``mean_i (d_i / 2 sigma) e_i``, and
    the pairs' agreement (module docstring; nan for one pair, 0 when every pair tied)."""
    diffs = np.asarray(diffs, dtype=np.float64)
    grad = (diffs[:, None] * directions).sum(axis=0) / (2 * sigma * len(diffs))
    per_pair = diffs[:, None] * directions / (2 * sigma)
    n = len(per_pair)
    if n < 2:
        return grad, float("nan")
    squares = float((per_pair ** 2).sum())
    if squares == 0:
        return grad, 0.0
    cross = float((per_pair.sum(axis=0) ** 2).sum()) - squares  # sum over i != j of g_i . g_j
    return grad, (cross / (n * (n - 1))) / (squares / n)


def train_backup(game, evaluate, params: SearchParams, states: list, costs: np.ndarray,
                 cfg: TrainSearchConfig, *, learned: LearnedSearch,
                 log: Callable[[int, dict], None] | None = None) -> LearnedSearch:
    """``cfg.backup_iterations`` ES steps on ``learned.backup`` (from zero if unset), with the
    rest of ``learned`` (selection, readout) fixed; returns ``learned`` with the new backup and
    ``meta["backup_signal"]``: the steps' mean pair agreement, its z-score, the share of tied
    pairs."""
    base = learned.weights()
    start = np.zeros(BACKUP_SIZE) if learned.backup is None else learned.backup
    theta = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    optimiser = torch.optim.Adam([theta], lr=cfg.backup_lr)
    rng = np.random.default_rng([cfg.seed, 11])
    sigma = cfg.backup_sigma

    def cost(weights: np.ndarray, chosen: list, chosen_costs: np.ndarray, budget: int) -> float:
        mine = LearnedWeights(base.selection, base.readout, base.target, weights)
        return search_cost(game, evaluate, params, mine, chosen, chosen_costs, budget)

    agreements: list[float] = []
    ties: list[float] = []
    for it in range(cfg.backup_iterations):
        idx = rng.choice(len(states), size=min(cfg.positions_per_batch, len(states)),
                         replace=False)
        budget = int(rng.choice(cfg.budgets))
        chosen, chosen_costs = [states[i] for i in idx], costs[idx]
        now = theta.detach().numpy().copy()
        directions = rng.standard_normal((cfg.backup_pairs, BACKUP_SIZE))
        diffs, means, tied = [], [], 0
        for e in directions:
            plus = cost(now + sigma * e, chosen, chosen_costs, budget)
            minus = cost(now - sigma * e, chosen, chosen_costs, budget)
            diffs.append(plus - minus)
            means.append(0.5 * (plus + minus))
            tied += plus == minus
        grad, agreement = es_gradient(np.asarray(diffs), directions, sigma)
        agreements.append(agreement)
        ties.append(tied / len(diffs))
        optimiser.zero_grad()
        theta.grad = torch.as_tensor(grad, dtype=torch.float64)
        optimiser.step()
        if log is not None:
            log(it, {"charts/search_cost": float(np.mean(means)), "charts/budget": budget,
                     "backup/grad_norm": float(np.linalg.norm(grad)),
                     "backup/pair_agreement": agreement, "backup/tied_pairs": ties[-1],
                     **{f"backup/w{j}": float(v) for j, v in enumerate(theta.detach())}})
    learned.backup = theta.detach().numpy().astype(np.float64).copy()
    finite = np.array([v for v in agreements if np.isfinite(v)])
    spread = finite.std(ddof=1) / np.sqrt(len(finite)) if len(finite) > 1 else 0.0
    learned.meta["backup_signal"] = {
        "mean_agreement": float(finite.mean()) if len(finite) else None,
        "z": float(finite.mean() / spread) if spread > 0 else None,
        "steps": len(finite), "tied_pairs": float(np.mean(ties)) if ties else None}
    return learned
