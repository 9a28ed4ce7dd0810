"""What runs inside Ray during training: the learner actor and the evaluation-ladder task.

Also the small rules the driver applies to their results (which ladder metric marks the best
checkpoint).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ray
import torch

from alphazero.config import Config
from alphazero.train.learner import Learner
from games import get_game
from nets.loader import new_model
from nets.torch_net import NetworkConfig, select_device
from search.learned import LearnedWeights

logger = logging.getLogger(__name__)


class LearnerActor(Learner):
    """The learner inside a Ray actor (one torch thread; CUDA if the actor was given a GPU)."""

    def __init__(self, game_name: str, network: NetworkConfig, config: Config):
        torch.set_num_threads(1)
        device = select_device(config.device) if torch.cuda.is_available() else "cpu"
        game = get_game(game_name)
        trainer = None
        if config.search_training.enabled:
            from alphazero.learned.tandem import SearchTrainer

            trainer = SearchTrainer(game, config)
        super().__init__(game, network, config.train, device=str(device),
                         search_trainer=trainer)

    def counters(self) -> dict[str, int]:
        return {
            "step": self.step,
            "positions_added": self.buffer.total_added,
            "buffer_size": len(self.buffer),
            "games": self.games,
        }

    def publish(self) -> list:
        """``ray.put`` the current weights once (the reference goes to every worker); with
        search training, first train the learned search on them. Returns [weights ref, the
        learned search's arrays or None, its training figures]."""
        weights = self.finite_weights()
        if self.search_trainer is None:
            return [ray.put(weights), None, {}]
        figures = self.search_trainer.step(weights)
        return [ray.put(weights), self.search_trainer.arrays(), figures]

    def save_search(self, path: str, step: int) -> None:
        """Write the learned search trained so far (``--set search.learned_weights=PATH``)."""
        learned = self.search_trainer.learned
        learned.meta = {**learned.meta, "step": step}
        learned.save(path)

    def resume(self, path: str) -> dict[str, Any]:
        """Restore from a checkpoint; return the counters and the driver's saved state."""
        checkpoint = self.restore(path)
        return {
            **self.counters(),
            "version": int(checkpoint.get("version", 0)),
            "best_score": float(checkpoint.get("best_score", float("-inf"))),
            "elapsed_seconds": float(checkpoint.get("elapsed_seconds", 0.0)),
            "cpu_seconds": float(checkpoint.get("cpu_seconds", 0.0)),
        }


def ladder_task(
    game_name: str,
    network: NetworkConfig,
    weights: dict,
    config: Config,
    *,
    step: int,
    run_dir: str,
    earlier: list[str],
    seed: int,
    learned: dict | None = None,
    clock: dict[str, float] | None = None,
) -> dict[str, float]:
    """Run the evaluation ladder on one weight version (a Ray task on the driver's node).

    ``learned``: the learned search's arrays for arm learned (those of the same publication
    when trained in tandem); ``clock``: the run's time so far, written with the CSV row."""
    torch.set_num_threads(1)
    from alphazero.eval.matches import run_ladder

    game = get_game(game_name)
    model = new_model(network, game.observation_shape, game.num_actions, weights=weights)
    metrics = run_ladder(
        game,
        model,
        config,
        step=step,
        run_dir=Path(run_dir),
        earlier_checkpoints=[Path(p) for p in earlier],
        seed=seed,
        learned=LearnedWeights(**learned) if learned else None,
        columns=clock,
    )
    return {str(k): float(v) for k, v in metrics.items()}


def evaluation_available() -> bool:
    try:
        from alphazero.eval.matches import run_ladder  # noqa: F401
    except ImportError as err:
        logger.warning("evaluation ladder unavailable (%s); training without it", err)
        return False
    return True


def best_score(metrics: dict[str, float], key: str) -> float | None:
    if key != "auto":
        return metrics.get(key)
    if "solver/optimal_share_search" in metrics:
        return metrics["solver/optimal_share_search"]
    for prefix in ("solver/", "elo/"):
        for name, value in metrics.items():
            if name.startswith(prefix):
                return value
    return None


def last_line(error: BaseException) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
