"""Training the learned search against the solver or a deeper search of itself.

The signal is how good the search's final answer is. For a sampled decision inside a search
(simulation s, depth d), the selection network is trained to lower the expected final cost of
its softened choice ``softmax((PUCT score + residual) / tau)``, by one of two estimators of the
same gradient (``TrainSearchConfig.method``):

* ``deviation``: every child is forced in turn and the search finished; the final answers'
  costs give the exact effect of that one choice with everything else fixed (a one-step
  deviation), and the expectation over the softened choice is computed exactly.
* ``reinforce``: every decision of a search is sampled from the softened choice (inside the
  kernel); the log-probabilities of all of them are weighted by the search's cost minus the
  cost of a paired PUCT search of the same position and budget (a baseline independent of
  the samples). One search per position (PUCT's cost is cached) instead of one per child of
  one decision, at the price of variance; it trains the softened rule of the whole search.

The readout is trained to lower the expected cost of its move distribution. A penalty on the
residual keeps the rule near PUCT. The cost of a move is 0 when
it keeps the game-theoretic value (solver or perfect play), else 1, plus a small term for the
score lost; without a solver, the teacher is the same network searching with 8x the budget.

All trees of one training batch (positions x forced children) run as one batched search.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from alphazero.config import TrainSearchConfig
from nets.search_weights import LearnedSearch, ScoreNet
from search import BatchedMCTS, SearchParams
from search.learned import LearnedWeights, readout_features
from search.states import search_states


# ------------------------------------------------------------------------------ costs
def solver_costs(scores: Sequence[int | None], num_actions: int) -> np.ndarray:
    """Cost of each action from exact scores: 0 keeps the value, 1 changes it, plus a small
    term for the score given away; illegal actions cost 2."""
    legal = [s for s in scores if s is not None]
    best = max(legal)
    value = np.sign(best)
    cost = np.full(num_actions, 2.0)
    for a, s in enumerate(scores):
        if s is not None:
            cost[a] = float(np.sign(s) != value) + 0.01 * (best - s)
    return cost


TEACHER_FACTOR = 8
"""The search teacher's budget, as a multiple of the largest training budget."""


def teacher_costs(game, evaluate, params: SearchParams, states: list, budget: int, *,
                  learned: LearnedWeights | None = None, factor: int = TEACHER_FACTOR,
                  batch_size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(costs float[P, A], policy float[P, A]) from the same network searching with ``factor``
    x ``budget`` simulations (arm learned with ``learned``, else PUCT): a move's cost is one
    minus its visits over the most visited move's, illegal moves cost 2; ``policy`` is the
    teacher's visit distribution. No solver: the signal of self-play and of chess."""
    arm = "learned" if learned is not None else "puct"
    big = dataclasses.replace(params, arm=arm, simulations=factor * budget)
    policy = search_states(game, evaluate, big, states, batch_size=batch_size, seed=seed,
                           learned=learned).policy
    legal = np.stack([game.legal_mask(s) for s in states]).astype(bool)
    top = np.maximum(policy.max(axis=1, keepdims=True), 1e-12)
    return np.where(legal, 1.0 - policy / top, 2.0), policy


def sample_decisions(rng: np.random.Generator, count: int, cfg: TrainSearchConfig):
    budgets = rng.choice(cfg.budgets, size=count)
    sims = (rng.random(count) * budgets).astype(np.int64)
    p = np.asarray(cfg.depth_weights) / np.sum(cfg.depth_weights)
    depths = rng.choice(len(p), size=count, p=p)
    return budgets, sims, depths


def deviation_batch(game, evaluate, params: SearchParams, learned: LearnedSearch,
                    states: list, costs: np.ndarray, budget: int, sims: np.ndarray,
                    depths: np.ndarray, seed: int) -> dict[str, Any]:
    """Run every one-step deviation of one decision per position: one tree per *child* of
    that decision, not per action slot (chess has ~35 legal moves of 4,672 slots).

    A first pass searches each position once, recording (not forcing) its decision, which
    gives the decision's number of children c_p; the second pass runs sum_p c_p trees, tree
    (p, i) forced to child i. Returns the recorded features / PUCT scores / child counts per
    decision (``feats`` [P, W, F], ``scores`` [P, W], ``count`` [P], W = the search's widest
    node), the final cost of each forced child (``child_cost`` [P, W], 0 beyond c_p), and the
    root statistics of every finished tree (both passes) for the readout.
    """
    n = len(states)
    params = dataclasses.replace(params, arm="learned", simulations=budget)
    weights = learned.weights()
    probe = BatchedMCTS(game, evaluate, params, batch_size=n, seed=seed, learned=weights)
    probe.set_roots(states)
    control = np.stack([sims, depths, np.full(n, -1)], axis=1).astype(np.int64)
    probed = probe.run(control=control)
    count = np.where(probe.decisions.count > 0, probe.decisions.children[:, 0], 0)
    width = probe.width
    feats = np.zeros((n, width, probe.decisions.features.shape[-1]))
    scores = np.zeros((n, width))
    child_cost = np.zeros((n, width))
    roots = [probed]
    owner = np.repeat(np.arange(n), count)  # [T] the position of each forced tree
    if owner.size:
        child = np.concatenate([np.arange(c) for c in count])  # [T] its forced child
        mcts = BatchedMCTS(game, evaluate, params, batch_size=owner.size, seed=seed,
                           learned=weights)
        mcts.set_roots([states[p] for p in owner])
        result = mcts.run(control=np.stack([sims[owner], depths[owner], child],
                                           axis=1).astype(np.int64))
        child_cost[owner, child] = costs[owner, result.action]
        first = np.flatnonzero(child == 0)  # one forced tree per recorded position
        decisions = mcts.decisions
        feats[owner[first]] = decisions.features[first, 0]
        scores[owner[first]] = decisions.scores[first, 0]
        # Every copy must have met the same decision (the search is deterministic); drop a
        # position whose copies disagree rather than train on a mixed record.
        same = (decisions.count > 0) & (decisions.children[:, 0] == count[owner])
        mixed = np.bincount(owner, weights=(~same).astype(float), minlength=n) > 0
        count = np.where(mixed, 0, count)
        roots.append(result)
    tree_owner = np.concatenate([np.arange(n), owner])
    return {"feats": feats, "scores": scores, "count": count, "child_cost": child_cost,
            **{k: np.concatenate([getattr(r, k) for r in roots])
               for k in ("visits", "prior", "q", "value")},
            "tree_costs": costs[tree_owner]}


def _softened_logits(net: ScoreNet, feats, scores, count, temperature: float):
    """(logits [D, W] of softmax((PUCT + residual) / tau), -1e9 beyond each row's children;
    residual [D, W]; valid bool[D, W]) of recorded decisions."""
    feats = torch.as_tensor(feats, dtype=torch.float32)  # [D, W, F]
    scores = torch.as_tensor(scores, dtype=torch.float32)  # [D, W]
    count = torch.as_tensor(count)
    valid = torch.arange(scores.shape[1])[None, :] < count[:, None]  # [D, W]
    residual = net(feats)  # [D, W]
    logits = ((scores + residual) / temperature).masked_fill(~valid, -1e9)
    return logits, residual, valid


def selection_loss(net: ScoreNet, batch: dict, cfg: TrainSearchConfig):
    """Expected cost of the softened choice over the deviations, minus their mean cost, plus
    the pull toward PUCT; and the cost of the rule's own choice. (None, nan) if nothing
    was recorded."""
    keep = batch["count"] > 0
    if not keep.any():
        return None, math.nan
    logits, residual, valid = _softened_logits(net, batch["feats"][keep],
                                               batch["scores"][keep], batch["count"][keep],
                                               cfg.temperature)
    cost = torch.as_tensor(batch["child_cost"][keep], dtype=torch.float32)  # [D, W]
    probs = torch.softmax(logits, dim=1)
    mean_cost = (cost * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True)
    expected = (probs * (cost - mean_cost) * valid).sum(1).mean()
    reg = (residual.pow(2) * valid).sum() / valid.sum()
    own = logits.argmax(1)  # the rule's own choice
    own_cost = float(cost.gather(1, own[:, None]).mean())
    return expected + cfg.regularization * reg, own_cost


def readout_loss(net: ScoreNet, batch: dict, budget: int, cfg: TrainSearchConfig):
    visits, prior, q, value = batch["visits"], batch["prior"], batch["q"], batch["value"]
    legal = prior > 0
    feats = np.stack([readout_features(visits[i], prior[i], q[i], float(value[i]), budget)
                      for i in range(len(visits))])
    x = torch.as_tensor(feats, dtype=torch.float32)  # [T, A, R]
    base = torch.log1p(torch.as_tensor(visits, dtype=torch.float32))
    logits = (base + net(x)) / cfg.readout_temperature
    logits = logits.masked_fill(~torch.as_tensor(legal), -1e9)
    probs = torch.softmax(logits, dim=1)
    cost = torch.as_tensor(batch["tree_costs"], dtype=torch.float32)
    return (probs * cost).sum(1).mean()


def search_costs(game, evaluate, params: SearchParams, learned: LearnedWeights | None,
                 states: list, costs: np.ndarray, budget: int) -> np.ndarray:
    """float[P]: cost of the move each search picks (arm learned if ``learned`` else PUCT)."""
    arm = "learned" if learned is not None else "puct"
    params = dataclasses.replace(params, arm=arm, simulations=budget)
    action = search_states(game, evaluate, params, states, seed=0, learned=learned).action
    return costs[np.arange(len(states)), action]


def search_cost(game, evaluate, params: SearchParams, learned: LearnedWeights | None,
                states: list, costs: np.ndarray, budget: int) -> float:
    """Mean cost of the move a search picks (arm learned if ``learned`` else PUCT)."""
    return float(search_costs(game, evaluate, params, learned, states, costs, budget).mean())


# ------------------------------------------------------------------------ REINFORCE
def reinforce_batch(game, evaluate, params: SearchParams, learned: LearnedSearch, states: list,
                    costs: np.ndarray, budget: int, baseline: np.ndarray,
                    rng: np.random.Generator, cfg: TrainSearchConfig, seed: int) -> dict[str, Any]:
    """One search per position with every learned decision sampled, and its advantage.

    Each decision takes a child drawn from ``softmax((PUCT + residual) / tau)`` inside the
    kernel (Gumbel-max with noise drawn here), and is recorded. Every recorded decision of a
    search gets that search's advantage, its final cost minus ``baseline`` (float[P], the
    paired PUCT search's cost). Returns the decisions flattened over searches (``feats``
    [M, W, F], ``scores`` [M, W], ``count`` [M] children, ``choice`` [M], ``advantage`` [M]),
    ``norm`` (searches x budget, the surrogate's constant divisor), per-search ``cost``,
    ``overflow`` and ``decisions`` (made), and the root statistics for the readout.
    A search that made more than ``budget * cfg.decisions_per_simulation`` decisions is
    dropped (``overflow``).
    """
    n = len(states)
    mcts = BatchedMCTS(game, evaluate, dataclasses.replace(params, arm="learned",
                                                           simulations=budget),
                       batch_size=n, seed=seed, learned=learned.weights())
    mcts.set_roots(states)
    noise = rng.gumbel(size=(n, budget * cfg.decisions_per_simulation, mcts.width))
    result = mcts.run(sample_temperature=cfg.temperature, sample_noise=noise)
    record = mcts.decisions
    cost = costs[np.arange(n), result.action]
    kept = np.arange(record.max_decisions)[None, :] < np.where(record.overflow, 0,
                                                                record.count)[:, None]  # [P, D]
    advantage = np.broadcast_to((cost - baseline)[:, None], kept.shape)
    return {"feats": record.features[kept], "scores": record.scores[kept],
            "count": record.children[kept], "choice": record.choice[kept],
            "advantage": advantage[kept], "norm": float(n * budget), "cost": cost,
            "overflow": record.overflow.copy(), "decisions": record.count.copy(),
            "visits": result.visits, "prior": result.prior, "q": result.q,
            "value": result.value, "tree_costs": costs}


def reinforce_loss(net: ScoreNet, batch: dict, cfg: TrainSearchConfig):
    """Score-function surrogate of the recorded decisions: its gradient is
    ``sum_m grad log pi(choice_m) * advantage_m / norm``, plus the pull toward PUCT. None if
    nothing was recorded."""
    if len(batch["count"]) == 0:
        return None
    logits, residual, valid = _softened_logits(net, batch["feats"], batch["scores"],
                                               batch["count"], cfg.temperature)
    log_prob = torch.log_softmax(logits, dim=1)  # [M, W]
    choice = torch.as_tensor(batch["choice"], dtype=torch.int64)[:, None]
    advantage = torch.as_tensor(batch["advantage"], dtype=torch.float32)  # [M]
    surrogate = (log_prob.gather(1, choice)[:, 0] * advantage).sum() / batch["norm"]
    reg = (residual.pow(2) * valid).sum() / valid.sum()
    return surrogate + cfg.regularization * reg


class _PairedBaseline:
    """The PUCT search's cost per training position and budget, computed once (the network
    and PUCT are fixed, so it never changes)."""

    def __init__(self, game, evaluate, params: SearchParams, states: list, costs: np.ndarray):
        self.args = game, evaluate, params
        self.states, self.costs = states, costs
        self.cache: dict[int, np.ndarray] = {}

    def __call__(self, idx: np.ndarray, budget: int) -> np.ndarray:
        known = self.cache.setdefault(budget, np.full(len(self.states), np.nan))
        todo = idx[np.isnan(known[idx])]
        if todo.size:
            known[todo] = search_costs(*self.args, None, [self.states[i] for i in todo],
                                       self.costs[todo], budget)
        return known[idx]


def train_learned_search(game, evaluate, params: SearchParams, states: list, costs: np.ndarray,
                         cfg: TrainSearchConfig, *, learned: LearnedSearch | None = None,
                         log: Callable[[int, dict], None] | None = None,
                         progress: Callable[[int, dict], None] | None = None) -> LearnedSearch:
    """Train on ``states`` with per-action ``costs`` (float[P, A]) for ``cfg.iterations``."""
    learned = learned or LearnedSearch.fresh(cfg.seed)
    optimiser = torch.optim.Adam(list(learned.selection.parameters())
                                 + list(learned.readout.parameters()), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    baseline = _PairedBaseline(game, evaluate, params, states, costs)
    for it in range(cfg.iterations):
        idx = rng.choice(len(states), size=min(cfg.positions_per_batch, len(states)),
                         replace=False)
        budget = int(rng.choice(cfg.budgets))
        _, sims, depths = sample_decisions(rng, len(idx), cfg)
        sims = np.minimum(sims, budget - 1)
        chosen = [states[i] for i in idx]
        if cfg.method == "reinforce":
            puct_cost = baseline(idx, budget)
            batch = reinforce_batch(game, evaluate, params, learned, chosen, costs[idx],
                                    budget, puct_cost, rng, cfg, seed=cfg.seed + it)
            sel = reinforce_loss(learned.selection, batch, cfg)
            extra = {"charts/search_cost": float(batch["cost"].mean()),
                     "charts/puct_cost": float(puct_cost.mean()),
                     "charts/decisions": float(batch["decisions"].mean() / budget),
                     "charts/overflow": float(batch["overflow"].mean())}
        else:
            batch = deviation_batch(game, evaluate, params, learned, chosen, costs[idx],
                                    budget, sims, depths, seed=cfg.seed + it)
            sel, own_cost = selection_loss(learned.selection, batch, cfg)
            extra = {"charts/search_cost": own_cost}
        read = readout_loss(learned.readout, batch, budget, cfg)
        loss = read if sel is None else sel + read
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        stats = {"loss/selection": float(sel.detach()) if sel is not None else math.nan,
                 "loss/readout": float(read.detach()), "charts/budget": budget, **extra}
        if log is not None:
            log(it, stats)
        if progress is not None:
            progress(it, stats)
    return learned
