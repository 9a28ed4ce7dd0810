"""The learner: the network, its optimizer and the replay buffer, trained on self-play games.

Loss = cross-entropy(search policy, network policy over the legal moves)
     + value_loss_weight * (outcome - network value)^2, plus the optimizer's weight decay.

``Learner`` is a plain class; ``alphazero.train.driver`` runs it inside a Ray actor. Only numpy
arrays and plain numbers go in and out of its public methods.
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from alphazero.config import TrainConfig
from alphazero.train.replay import ReplayBuffer, Symmetries
from nets.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from nets.loader import new_model
from nets.torch_net import ILLEGAL_LOGIT, NetworkConfig
from nets.weights import numpy_weights

MOMENTUM = 0.9
LR_FLOOR = 0.1
"""The cosine schedule ends at this share of the peak learning rate."""


def cosine_learning_rate(peak: float, progress: float, floor: float = LR_FLOOR) -> float:
    """``peak`` decayed along half a cosine to ``floor * peak`` as ``progress`` goes from 0 to 1:
    the schedule of self-play training (``learning_rate``) and of pretraining."""
    return peak * (floor + (1 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def learning_rate(config: TrainConfig, step: int, time_progress: float = 0.0) -> float:
    """The schedule's learning rate at ``step`` (cosine: from lr down to 10% of lr).

    ``time_progress``: the share of ``train.minutes`` spent; the schedule follows the larger
    of it and ``step / train.steps``.
    """
    if config.lr_schedule == "constant":
        return config.lr
    progress = min(max(step / max(config.steps, 1), time_progress), 1.0)
    return cosine_learning_rate(config.lr, progress)


class Learner:
    """Trains a ``PolicyValueNet`` from a replay buffer with a controlled sample reuse.

    The learner may take a step only while ``(step + 1) * batch_size <= sample_reuse *
    positions added`` and the buffer holds ``min_buffer`` positions, so each position is
    sampled about ``sample_reuse`` times on average; ``train`` stops early otherwise.
    """

    def __init__(self, game, network: NetworkConfig, config: TrainConfig, *, device: str = "cpu",
                 search_trainer: Any = None):
        self.game = game
        self.search_trainer = search_trainer  # alphazero.learned.tandem.SearchTrainer
        self.network_config = network
        self.config = config
        self.device = torch.device(device)
        self.model = new_model(network, game.observation_shape, game.num_actions,
                               seed=config.seed).to(self.device)
        self.optimizer = _make_optimizer(self.model, config)
        self.buffer = ReplayBuffer(config.buffer_size, game.observation_shape, game.num_actions)
        self.symmetries = Symmetries(game)
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self.games = 0

    # ------------------------------------------------------------------ data
    def add(self, trajectories: dict[str, np.ndarray]) -> int:
        """Add a worker's finished games (see ``SelfPlayWorker.play``); return the buffer size."""
        self.buffer.add(
            trajectories["observations"],
            trajectories["policies"],
            trajectories["values"],
            trajectories["legal_masks"],
        )
        self.games += len(trajectories["game_lengths"])
        if self.search_trainer is not None and "roots" in trajectories:
            self.search_trainer.add_roots(trajectories["roots"])
        return len(self.buffer)

    def steps_allowed(self) -> int:
        """Steps the sample-reuse budget allows now."""
        if len(self.buffer) < self.config.min_buffer:
            return 0
        budget = int(self.config.sample_reuse * self.buffer.total_added // self.config.batch_size)
        return max(0, min(budget, self.config.steps) - self.step)

    # ----------------------------------------------------------------- train
    def train(self, max_steps: int, time_progress: float = 0.0) -> dict[str, float]:
        """Up to ``max_steps`` SGD steps; returns mean losses and the step reached.

        ``time_progress``: the share of the run's time budget spent (see ``learning_rate``).
        """
        steps = max(0, min(max_steps, self.steps_allowed()))
        totals: dict[str, float] = {}
        self.model.train()
        for _ in range(steps):
            for key, value in self._train_step(time_progress).items():
                totals[key] = totals.get(key, 0.0) + value
        self.model.eval()
        metrics = {k: v / steps for k, v in totals.items()} if steps else {}
        metrics.update(
            step=self.step,
            steps_done=steps,
            cpu_seconds=time.process_time(),  # this process's: the learner's in a Ray actor
            buffer_size=len(self.buffer),
            positions_added=self.buffer.total_added,
            games=self.games,
        )
        return metrics

    def _train_step(self, time_progress: float = 0.0) -> dict[str, float]:
        cfg = self.config
        lr = learning_rate(cfg, self.step, time_progress)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        obs, target_policy, target_value, legal = self.buffer.sample(
            cfg.batch_size, self.rng, self.symmetries
        )
        obs_t = torch.from_numpy(obs).to(self.device)  # [n, C, H, W]
        policy_t = torch.from_numpy(target_policy).to(self.device)  # [n, A]
        value_t = torch.from_numpy(target_value).to(self.device)  # [n]
        legal_t = torch.from_numpy(legal).to(self.device)  # [n, A]
        logits, value = self.model(obs_t)
        log_probs = F.log_softmax(logits.masked_fill(~legal_t, ILLEGAL_LOGIT), dim=1)
        policy_loss = -(policy_t * log_probs).sum(dim=1).mean()
        value_loss = F.mse_loss(value, value_t)
        loss = policy_loss + cfg.value_loss_weight * value_loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        with torch.no_grad():
            probs = log_probs.exp()
            entropy = -(probs * log_probs).sum(dim=1).mean()
            target_entropy = -(policy_t * torch.log(policy_t.clamp_min(1e-12))).sum(1).mean()
        return {
            "losses/policy": policy_loss.item(),
            "losses/value": value_loss.item(),
            "losses/total": loss.item(),
            "charts/policy_entropy": entropy.item(),
            "charts/target_policy_entropy": target_entropy.item(),
            "charts/learning_rate": lr,
        }

    # --------------------------------------------------------------- weights
    def weights(self) -> dict[str, np.ndarray]:
        return numpy_weights(self.model)

    def finite_weights(self) -> dict[str, np.ndarray]:
        """``weights()``, refusing to hand out a network that training made NaN or infinite
        (FloatingPointError naming the step): a diverged network must not reach the workers
        or a checkpoint."""
        weights = self.weights()
        bad = [name for name, w in weights.items() if not np.isfinite(w).all()]
        if bad:
            raise FloatingPointError(
                f"the network's weights are not finite at step {self.step} ({bad[0]} and "
                f"{len(bad) - 1} more): training diverged; resume from an earlier checkpoint "
                f"with a lower train.lr")
        return weights

    # ----------------------------------------------------------- checkpoints
    def save(self, path: str | Path, buffer_path: str | Path, extra: dict | None = None) -> None:
        """Write the replay buffer, then the checkpoint that names it (both atomically)."""
        path, buffer_path = Path(path), Path(buffer_path)
        self.buffer.save(buffer_path)
        state = {
            "step": self.step,
            "games": self.games,
            "optimizer": self.optimizer.state_dict(),
            "replay_file": buffer_path.name,
            "rng": {
                "numpy": self.rng.bit_generator.state,
                "torch": torch.get_rng_state(),
                "python": random.getstate(),
            },
            **(extra or {}),
        }
        if self.search_trainer is not None:
            state["search_training"] = self.search_trainer.state_dict()
        save_checkpoint(
            path,
            model_state=self.model.state_dict(),
            network_config=self.network_config,
            game=self.game.name,
            observation_shape=self.game.observation_shape,
            num_actions=self.game.num_actions,
            extra=state,
        )

    def save_best(self, path: str | Path, weights: dict[str, np.ndarray],
                  extra: dict[str, Any]) -> None:
        """Write ``weights`` (a published version, as numpy arrays) as a model-only checkpoint,
        e.g. ``best.pt``: the learner writes every checkpoint of a run, this one included."""
        save_checkpoint(
            path,
            model_state={k: torch.from_numpy(np.array(v)) for k, v in weights.items()},
            network_config=self.network_config,
            game=self.game.name,
            observation_shape=self.game.observation_shape,
            num_actions=self.game.num_actions,
            extra=extra,
        )

    def restore(self, path: str | Path) -> dict[str, Any]:
        """Load model, optimizer, step, RNG states and replay buffer; return the checkpoint.

        Raises ``CheckpointError`` (a ValueError) if the checkpoint or its buffer is unreadable.
        """
        path = Path(path)
        checkpoint = load_checkpoint(path)
        if checkpoint["game"] != self.game.name:
            raise ValueError(f"checkpoint {path} is for {checkpoint['game']}, not {self.game.name}")
        buffer = ReplayBuffer.load(
            _replay_file(path, checkpoint.get("replay_file")), capacity=self.config.buffer_size
        )
        if self.search_trainer is not None:
            if "search_training" not in checkpoint:
                raise CheckpointError(f"checkpoint {path} holds no learned-search state: it was "
                                      f"written without search_training, which is enabled now")
            self.search_trainer.load_state_dict(checkpoint["search_training"])
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.buffer = buffer
        self.step = int(checkpoint["step"])
        self.games = int(checkpoint["games"])
        rng = checkpoint["rng"]
        self.rng.bit_generator.state = rng["numpy"]
        torch.set_rng_state(rng["torch"])
        random.setstate(_as_random_state(rng["python"]))
        return checkpoint


def _replay_file(path: Path, name: Any) -> Path:
    """The replay file a checkpoint names: a file beside it, nowhere else (a hand-edited or
    hostile checkpoint could name an absolute path or climb out with '..')."""
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise CheckpointError(f"checkpoint {path} names the replay file {name!r}: it must be "
                              f"a file name in {path.parent}")
    return path.parent / name


def _make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    # SGD is the default: fitting fresh networks to fixed replay data (20k tic-tac-toe and 112k
    # Connect Four positions, 600-800 steps), SGD (lr 0.02-0.05) and AdamW (lr 1e-3-3e-3)
    # reached the same held-out policy and value losses to within 0.015.
    if config.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=MOMENTUM, weight_decay=config.weight_decay
    )


def _as_random_state(state: Any) -> tuple:
    """random.setstate wants tuples; a checkpoint round trip may give lists."""
    version, internal, gauss = state
    return (version, tuple(internal), gauss)
