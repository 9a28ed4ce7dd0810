"""Training the learned search in tandem with the network, inside ``alphazero train``.

No solver and no other oracle: the teacher is the run's own network searching with
``teacher_factor`` times the budget (by default with the learned search itself, so the teacher
improves with the student). Workers send a share of their searched roots (``root_share``);
every weight publication the learner takes ``iterations`` steps on them:

1. the teacher searches P roots at ``teacher_factor * b``: the cost of a move is one minus
   its visits over the most visited move's (``teacher_costs``), and the teacher's visit
   distribution is the target map's target;
2. the student (the learned search at budget b) searches them: its move's cost and whether it
   agrees with the teacher's are logged, and its root statistics feed the target map;
3. one deviation search per legal child of one sampled decision per root trains the selection
   residual and the readout (``deviation_batch``, as ``alphazero train-search``);
4. the target map (``search.learned.improved_policy``) is fit by cross-entropy to the
   teacher's policy from the student's statistics (its softmax part on its own too, so it
   learns while lam is 0): a target closer to a deeper search is what the network is then
   trained toward. ``search/loss_visit_shares`` is the same loss of the plain visit shares,
   the rule the map replaces;
5. with ``backup_pairs`` > 0, the learned backup takes one antithetic ES step
   (``alphazero.learned.backup.es_gradient``): the student searches the roots with the backup
   weights moved by +-sigma along each of ``backup_pairs`` directions, each search's cost is
   the teacher's cost of its move, and Adam follows the estimate. Logged: the backup's cost,
   its pairs' agreement (0 when the pairs carry no signal) and its tied pairs.

The selection, readout, target and backup go out with the network in one publication (one version);
checkpoints carry them, their optimiser, the random state and the roots.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import deque
from typing import Any

import numpy as np
import torch

from alphazero.config import Config, TrainSearchConfig
from alphazero.learned.backup import es_gradient
from alphazero.learned.training import (
    deviation_batch,
    readout_loss,
    sample_decisions,
    selection_loss,
    teacher_costs,
)
from games.base import is_array_game
from nets.backends import LiveNetwork, playout_observations
from nets.search_weights import LearnedSearch, TargetMap
from search.learned import BACKUP_SIZE, LearnedWeights
from search.states import search_states

TARGET_EPSILON = 1e-6
"""Added to the target before its log in the cross-entropy (moves the visits never tried)."""


def initial_search(game, config: Config) -> LearnedSearch:
    """Where tandem training starts: search.learned_weights when set, else untrained (PUCT,
    the visit readout and the visit-share target). The driver and the learner both call it,
    so the workers' first weights equal the learner's."""
    if config.search.learned_weights:
        learned = LearnedSearch.load(config.search.learned_weights, expected_game=game.name)
    else:
        learned = LearnedSearch.fresh(config.train.seed, game=game.name)
    if learned.target is None:
        learned.target = TargetMap()
    learned.meta = {**learned.meta, "game": game.name, "trained_by": "tandem"}
    return learned


class SearchTrainer:
    """The learned search, its optimiser and the pool of training roots, in the learner."""

    def __init__(self, game, config: Config, learned: LearnedSearch | None = None):
        self.game = game
        self.cfg = cfg = config.search_training
        self.params = dataclasses.replace(config.search, arm="learned")
        budget = config.selfplay.simulations or config.search.simulations
        self.budgets = cfg.budgets or (budget,)
        self.learned = learned or initial_search(game, config)
        modules = [self.learned.selection, self.learned.readout]
        if cfg.target:
            modules.append(self.learned.target)
        self.optimizer = torch.optim.Adam([p for m in modules for p in m.parameters()],
                                          lr=cfg.lr)
        self.backup = self.backup_optimizer = None
        if cfg.backup_pairs:
            start = (np.zeros(BACKUP_SIZE) if self.learned.backup is None
                     else self.learned.backup)
            self.backup = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
            self.backup_optimizer = torch.optim.Adam([self.backup], lr=cfg.backup_lr)
            self.learned.backup = self.backup.detach().numpy().copy()
        self.loss_cfg = TrainSearchConfig(
            budgets=self.budgets, positions_per_batch=cfg.positions_per_batch, lr=cfg.lr,
            temperature=cfg.temperature, readout_temperature=cfg.readout_temperature,
            regularization=cfg.regularization, depth_weights=cfg.depth_weights,
            seed=config.train.seed)
        self.rng = np.random.default_rng(config.train.seed + 7_777)
        self.roots: deque = deque(maxlen=cfg.pool)
        self.iterations = 0
        calibration = (playout_observations(game, seed=config.train.seed)
                       if config.backend == "onnx-int8" else None)
        self.net = LiveNetwork(config.network, game.observation_shape, game.num_actions,
                               backend=config.backend, num_threads=1, calibration=calibration)

    # ------------------------------------------------------------------ roots
    def add_roots(self, roots: Any) -> None:
        """Game states sent by the workers (an int64 array for the array games)."""
        self.roots.extend(list(roots))

    # ------------------------------------------------------------------ train
    def step(self, weights: dict[str, np.ndarray]) -> dict[str, float]:
        """``iterations`` training steps with the network ``weights`` (the version about to
        be published); their mean figures, empty while the pool holds too few roots."""
        cfg = self.cfg
        if len(self.roots) < cfg.positions_per_batch:
            return {}
        started = time.perf_counter()
        self.net.set_weights(weights)
        totals: dict[str, float] = {}
        for _ in range(cfg.iterations):
            for key, value in self._iteration(self.net.evaluate).items():
                totals[key] = totals.get(key, 0.0) + value
        out = {k: v / cfg.iterations for k, v in totals.items()}
        out["search/seconds"] = time.perf_counter() - started
        out["search/iterations"] = float(self.iterations)
        if self.learned.target is not None:
            out["search/target_lam"] = float(self.learned.target.export()[0])
        if cfg.backup_pairs:  # the weights after the step: w = clip(theta . f, 0, 1) follows
            out.update({f"search/backup_theta{i}": float(v)
                        for i, v in enumerate(self.learned.backup)})
        return out

    def _iteration(self, evaluate) -> dict[str, float]:
        cfg, game = self.cfg, self.game
        seed = int(self.rng.integers(2**31))
        idx = self.rng.choice(len(self.roots), size=cfg.positions_per_batch, replace=False)
        states = [self.roots[i] for i in idx]
        budget = int(self.rng.choice(self.budgets))
        student_weights = self.learned.weights()
        teacher = student_weights if cfg.teacher_arm == "learned" else None
        costs, teacher_policy = teacher_costs(game, evaluate, self.params, states, budget,
                                              learned=teacher, factor=cfg.teacher_factor,
                                              seed=seed)
        student = search_states(game, evaluate,
                                dataclasses.replace(self.params, simulations=budget), states,
                                seed=seed, learned=student_weights)
        rows = np.arange(len(states))
        _, sims, depths = sample_decisions(self.rng, len(states), self.loss_cfg)
        batch = deviation_batch(game, evaluate, self.params, self.learned, states, costs,
                                budget, np.minimum(sims, budget - 1), depths, seed=seed)
        sel, _ = selection_loss(self.learned.selection, batch, self.loss_cfg)
        read = readout_loss(self.learned.readout, batch, budget, self.loss_cfg)
        loss = read if sel is None else sel + read
        stats = {"search/loss_readout": float(read.detach()),
                 "search/teacher_agreement": float(np.mean(
                     student.action == teacher_policy.argmax(axis=1))),
                 "search/student_cost": float(costs[rows, student.action].mean()),
                 "search/budget": float(budget)}
        if sel is not None:
            stats["search/loss_selection"] = float(sel.detach())
            stats["search/residual_rms"] = _residual_rms(self.learned, batch)
        if cfg.target:
            target, mixed = self.learned.target(student.visits, student.prior, student.q,
                                                student.value)
            teacher_t = torch.as_tensor(teacher_policy, dtype=torch.float32)
            target_loss = _cross_entropy(teacher_t, target)
            loss = loss + target_loss + _cross_entropy(teacher_t, mixed)
            stats["search/loss_target"] = float(target_loss.detach())
            shares = student.visits / np.maximum(student.visits.sum(1, keepdims=True), 1)
            stats["search/loss_visit_shares"] = float(
                _cross_entropy(teacher_t, torch.as_tensor(shares, dtype=torch.float32)))
        if self.backup is not None:
            stats.update(self._backup_step(evaluate, states, costs, budget, student_weights,
                                           seed))
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        if self.learned.target is not None:
            self.learned.target.project()
        self.iterations += 1
        return stats

    def _backup_step(self, evaluate, states: list, costs: np.ndarray, budget: int,
                     student: LearnedWeights, seed: int) -> dict[str, float]:
        """One antithetic ES step on the backup's weights (step 5 of the module docstring)."""
        cfg, rows = self.cfg, np.arange(len(states))
        params = dataclasses.replace(self.params, simulations=budget)
        now = self.backup.detach().numpy().copy()
        directions = self.rng.standard_normal((cfg.backup_pairs, BACKUP_SIZE))

        def cost(backup: np.ndarray) -> float:
            mine = LearnedWeights(student.selection, student.readout, student.target, backup)
            run = search_states(self.game, evaluate, params, states, seed=seed, learned=mine)
            return float(costs[rows, run.action].mean())

        pairs = [(cost(now + cfg.backup_sigma * e), cost(now - cfg.backup_sigma * e))
                 for e in directions]
        diffs = np.array([plus - minus for plus, minus in pairs])
        grad, agreement = es_gradient(diffs, directions, cfg.backup_sigma)
        self.backup_optimizer.zero_grad()
        self.backup.grad = torch.as_tensor(grad, dtype=torch.float64)
        self.backup_optimizer.step()
        self.learned.backup = self.backup.detach().numpy().copy()
        return {"search/backup_cost": float(np.mean(pairs)),
                "search/backup_agreement": agreement,
                "search/backup_tied_pairs": float(np.mean(diffs == 0))}

    # ---------------------------------------------------------------- weights
    def arrays(self) -> dict[str, np.ndarray]:
        """The weights as they cross actor boundaries (``selfplay.actors.learned_arrays``)."""
        weights = self.learned.weights()
        return {"selection": weights.selection, "readout": weights.readout,
                "target": weights.target, "backup": weights.backup}

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs, as tensors and plain values (weights-only loading)."""
        state: dict[str, Any] = {"learned": self.learned.state_dict(),
                                 "optimizer": self.optimizer.state_dict(),
                                 "rng": self.rng.bit_generator.state,
                                 "iterations": self.iterations}
        if self.backup_optimizer is not None:
            state["backup_optimizer"] = self.backup_optimizer.state_dict()
        if is_array_game(self.game) and self.roots:
            state["roots"] = torch.from_numpy(np.stack(list(self.roots)))
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.learned.load_state_dict(state["learned"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.backup is not None:
            with torch.no_grad():  # the parameter the optimiser holds, set in place
                self.backup.copy_(torch.as_tensor(
                    np.zeros(BACKUP_SIZE) if self.learned.backup is None
                    else self.learned.backup, dtype=torch.float64))
            self.learned.backup = self.backup.detach().numpy().copy()
            if "backup_optimizer" in state:
                self.backup_optimizer.load_state_dict(state["backup_optimizer"])
        self.rng.bit_generator.state = state["rng"]
        self.iterations = int(state["iterations"])
        self.roots.clear()
        if "roots" in state:  # chess roots are boards: the pool refills from the next games
            self.roots.extend(list(state["roots"].numpy()))


def _cross_entropy(teacher: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return -(teacher * torch.log(target + TARGET_EPSILON)).sum(1).mean()


def _residual_rms(learned: LearnedSearch, batch: dict) -> float:
    """Root mean square of the selection residual over the recorded decisions' children."""
    keep = batch["count"] > 0
    with torch.no_grad():
        feats = torch.as_tensor(batch["feats"][keep], dtype=torch.float32)
        residual = learned.selection(feats)
    valid = np.arange(residual.shape[1])[None, :] < batch["count"][keep][:, None]
    r = residual.numpy()[valid]
    return float(np.sqrt(np.mean(r * r))) if r.size else math.nan
