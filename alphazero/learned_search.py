"""Training the learned search: torch twins of the Numba networks, and the training loop.

The signal is how good the search's final answer is. For a sampled decision inside a search
(simulation s, depth d), every child is forced in turn and the search finished; the final
answers' costs give the exact effect of that one choice with everything else fixed (a one-step
deviation). The selection network is trained to lower the expected cost of its softened choice
``softmax((PUCT score + residual) / tau)``; the readout to lower the expected cost of its move
distribution. A penalty on the residual keeps the rule near PUCT. The cost of a move is 0 when
it keeps the game-theoretic value (solver or perfect play), else 1, plus a small term for the
score lost; without a solver, the teacher is the same network searching with 8x the budget.

All trees of one training batch (positions x forced children) run as one batched search.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from search import BatchedMCTS, SearchParams
from search.learned import (
    HIDDEN, NUM_READOUT_FEATURES, NUM_SELECTION_FEATURES, READOUT_FEATURES,
    SELECTION_FEATURES, LearnedWeights, readout_features,
)

FORMAT = "alphazero-learned-search-1"


class ScoreNet(nn.Module):
    """in -> tanh(HIDDEN) -> tanh(HIDDEN) -> 1, the last layer zero so it starts at 0."""

    def __init__(self, num_inputs: int, hidden: int = HIDDEN):
        super().__init__()
        self.l1 = nn.Linear(num_inputs, hidden)
        self.l2 = nn.Linear(hidden, hidden)
        self.l3 = nn.Linear(hidden, 1)
        nn.init.zeros_(self.l3.weight)
        nn.init.zeros_(self.l3.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [..., in] -> [...]."""
        return self.l3(torch.tanh(self.l2(torch.tanh(self.l1(x))))).squeeze(-1)

    def export(self) -> np.ndarray:
        """The flat float64 layout of ``search.learned.mlp_forward``."""
        parts = [self.l1.weight.T, self.l1.bias, self.l2.weight.T, self.l2.bias,
                 self.l3.weight[0], self.l3.bias]
        return np.concatenate([p.detach().double().cpu().numpy().ravel() for p in parts])


@dataclass
class LearnedSearch:
    """The pair of networks and what they were trained for."""

    selection: ScoreNet
    readout: ScoreNet
    meta: dict

    @classmethod
    def fresh(cls, seed: int = 0, **meta) -> "LearnedSearch":
        torch.manual_seed(seed)
        return cls(ScoreNet(NUM_SELECTION_FEATURES), ScoreNet(NUM_READOUT_FEATURES), dict(meta))

    def weights(self) -> LearnedWeights:
        return LearnedWeights(self.selection.export(), self.readout.export())

    def save(self, path: str | Path) -> None:
        from alphazero.checkpoint import atomic_torch_save

        atomic_torch_save(path, {"format": FORMAT, "selection": self.selection.state_dict(),
                                 "readout": self.readout.state_dict(), "meta": self.meta,
                                 "selection_features": list(SELECTION_FEATURES),
                                 "readout_features": list(READOUT_FEATURES)})

    @classmethod
    def load(cls, path: str | Path) -> "LearnedSearch":
        from alphazero.checkpoint import CheckpointError

        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"learned search weights not found: {path}")
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises several types for truncated files
            raise CheckpointError(f"learned search weights {path} are truncated or corrupt: "
                                  f"{type(err).__name__}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CheckpointError(f"{path} is not a learned-search file ({FORMAT})")
        if data["selection_features"] != list(SELECTION_FEATURES):
            raise CheckpointError(f"{path} was trained on other features; train it again")
        learned = cls(ScoreNet(NUM_SELECTION_FEATURES), ScoreNet(NUM_READOUT_FEATURES),
                      data["meta"])
        learned.selection.load_state_dict(data["selection"])
        learned.readout.load_state_dict(data["readout"])
        return learned


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


@dataclass
class TrainSearchConfig:
    budgets: tuple[int, ...] = (4, 8, 16, 32, 64)
    positions_per_batch: int = 32
    iterations: int = 200
    lr: float = 3e-3
    temperature: float = 0.1
    """Softening of the selection choice for its gradient (PUCT scores are O(1))."""
    readout_temperature: float = 0.5
    regularization: float = 0.05
    """Weight of the mean squared residual (pulls the rule toward PUCT)."""
    depth_weights: tuple[float, ...] = (0.5, 0.3, 0.2)
    """Probability of forcing a decision at depth 0, 1, 2."""
    seed: int = 0


def sample_decisions(rng: np.random.Generator, count: int, cfg: TrainSearchConfig):
    budgets = rng.choice(cfg.budgets, size=count)
    sims = (rng.random(count) * budgets).astype(np.int64)
    p = np.asarray(cfg.depth_weights) / np.sum(cfg.depth_weights)
    depths = rng.choice(len(p), size=count, p=p)
    return budgets, sims, depths


def deviation_batch(game, evaluate, params: SearchParams, learned: LearnedSearch,
                    states: list, costs: np.ndarray, budget: int, sims: np.ndarray,
                    depths: np.ndarray, seed: int) -> dict[str, Any]:
    """Run every one-step deviation of one decision per position (W trees each).

    Returns the recorded features / PUCT scores / child counts per decision, the final cost of
    each forced child, and each tree's root statistics for the readout.
    """
    width = game.num_actions
    n = len(states)
    params = dataclasses.replace(params, arm="learned", simulations=budget)
    mcts = BatchedMCTS(game, evaluate, params, batch_size=n * width, seed=seed,
                       learned=learned.weights())
    mcts.set_roots([s for s in states for _ in range(width)])
    control = np.stack([np.repeat(sims, width), np.repeat(depths, width),
                        np.tile(np.arange(width), n)], axis=1).astype(np.int64)
    result = mcts.run(control=control)
    tree_cost = costs.repeat(width, axis=0)[np.arange(n * width), result.action]
    return {"feats": mcts.record_feats.reshape(n, width, width, -1)[:, 0],
            "scores": mcts.record_scores.reshape(n, width, width)[:, 0],
            "count": mcts.record_count.reshape(n, width)[:, 0],
            "child_cost": tree_cost.reshape(n, width),
            "visits": result.visits, "prior": result.prior, "q": result.q,
            "value": result.value, "tree_costs": costs.repeat(width, axis=0)}


def selection_loss(net: ScoreNet, batch: dict, cfg: TrainSearchConfig):
    count = torch.as_tensor(batch["count"])
    keep = count > 0
    if not keep.any():
        return None, math.nan
    feats = torch.as_tensor(batch["feats"][keep.numpy()], dtype=torch.float32)  # [D, W, F]
    scores = torch.as_tensor(batch["scores"][keep.numpy()], dtype=torch.float32)  # [D, W]
    cost = torch.as_tensor(batch["child_cost"][keep.numpy()], dtype=torch.float32)  # [D, W]
    width = feats.shape[1]
    valid = torch.arange(width)[None, :] < count[keep][:, None]  # [D, W]
    residual = net(feats)  # [D, W]
    logits = ((scores + residual) / cfg.temperature).masked_fill(~valid, -1e9)
    probs = torch.softmax(logits, dim=1)
    mean_cost = (cost * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True)
    expected = (probs * (cost - mean_cost) * valid).sum(1).mean()
    reg = (residual.pow(2) * valid).sum() / valid.sum()
    own = (scores + residual).masked_fill(~valid, -1e9).argmax(1)  # the rule's own choice
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


def search_cost(game, evaluate, params: SearchParams, learned: LearnedWeights | None,
                states: list, costs: np.ndarray, budget: int) -> float:
    """Mean cost of the move a search picks (arm learned if ``learned`` else PUCT)."""
    arm = "learned" if learned is not None else "puct"
    params = dataclasses.replace(params, arm=arm, simulations=budget)
    mcts = BatchedMCTS(game, evaluate, params, batch_size=len(states), seed=0, learned=learned)
    mcts.set_roots(states)
    action = mcts.run().action
    return float(costs[np.arange(len(states)), action].mean())


def train_learned_search(game, evaluate, params: SearchParams, states: list, costs: np.ndarray,
                         cfg: TrainSearchConfig, *, learned: LearnedSearch | None = None,
                         log: Callable[[int, dict], None] | None = None,
                         progress: Callable[[int, dict], None] | None = None) -> LearnedSearch:
    """Train on ``states`` with per-action ``costs`` (float[P, A]) for ``cfg.iterations``."""
    learned = learned or LearnedSearch.fresh(cfg.seed)
    optimiser = torch.optim.Adam(list(learned.selection.parameters())
                                 + list(learned.readout.parameters()), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    for it in range(cfg.iterations):
        idx = rng.choice(len(states), size=min(cfg.positions_per_batch, len(states)),
                         replace=False)
        budget = int(rng.choice(cfg.budgets))
        _, sims, depths = sample_decisions(rng, len(idx), cfg)
        sims = np.minimum(sims, budget - 1)
        batch = deviation_batch(game, evaluate, params, learned, [states[i] for i in idx],
                                costs[idx], budget, sims, depths, seed=cfg.seed + it)
        sel, own_cost = selection_loss(learned.selection, batch, cfg)
        read = readout_loss(learned.readout, batch, budget, cfg)
        loss = read if sel is None else sel + read
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        stats = {"loss/selection": float(sel.detach()) if sel is not None else math.nan,
                 "loss/readout": float(read.detach()), "charts/budget": budget,
                 "charts/search_cost": own_cost}
        if log is not None:
            log(it, stats)
        if progress is not None:
            progress(it, stats)
    return learned
