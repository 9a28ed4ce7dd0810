"""Training in this process, without Ray: one self-play worker and the learner, in turns.

    SelfPlayWorker.play(moves) --trajectories--> Learner.add -> Learner.train (sample-reuse
    budget) --every publish_every steps--> a copy of the weights --> the worker's evaluate

``alphazero.train.driver.train`` runs workers in other processes that find their game by
name; a game registered in this process (a notebook's, a test's) is unknown there. This loop
takes the game object itself, so any game that passes ``games.check_game`` trains. It has
no evaluation ladder, no TensorBoard and no checkpoints of its own: it returns the learner,
whose ``save`` writes a checkpoint (see docs/own_game.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alphazero.config import Config
from alphazero.train.learner import Learner
from games import get_game
from games.base import Game
from nets.loader import new_model
from nets.torch_net import PolicyValueNet, make_evaluate_fn
from nets.weights import load_numpy_weights
from search.learned import LearnedWeights
from selfplay.worker import SelfPlayWorker

MOVES_PER_ROUND = 8
"""Move-steps (each advances every game of the worker once) between two training calls."""


@dataclass
class InProcessResult:
    """What ``train_in_process`` did: the learner (model, buffer, ``save``) and counters."""

    learner: Learner
    step: int  # learner steps taken
    games: int  # self-play games finished
    positions: int  # training positions generated
    losses: dict[str, float] = field(default_factory=dict)  # the last training call's means
    rounds: int = 0  # play-then-train rounds


def train_in_process(game: Game | str, config: Config, *,
                     moves_per_round: int = MOVES_PER_ROUND, device: str = "cpu",
                     learned: LearnedWeights | None = None, max_rounds: int = 100_000,
                     progress: Callable[[int, dict[str, float]], None] | None = None
                     ) -> InProcessResult:
    """Self-play and train ``game`` until the learner has taken ``config.train.steps`` steps.

    ``config``: as for ``alphazero train``, except that its ``game`` field is not used (the
    ``game`` argument is), nor ``selfplay.workers`` (one worker plays
    ``selfplay.games_per_worker`` games at once), nor ``train.minutes`` and the ladder,
    checkpoint and device settings. The learner trains only as fast as ``train.sample_reuse``
    allows and after ``train.min_buffer`` positions, so rounds of ``moves_per_round``
    self-play moves alternate with training calls. The worker's network is a copy of the
    learner's, renewed every ``train.publish_every`` steps.
    ``learned``: the learned search's weights when ``config.search.arm == "learned"``.
    ``progress(step, losses)`` is called after each training call that took steps.
    ``RuntimeError`` if ``max_rounds`` rounds do not reach the last step.
    """
    game = get_game(game) if isinstance(game, str) else game
    target = config.train.steps
    if moves_per_round < 1:
        raise ValueError(f"moves_per_round must be >= 1, not {moves_per_round}")
    if config.search_training.enabled:
        raise ValueError("search_training (the learned search trained in tandem) runs in "
                         "'alphazero train', not in train_in_process yet")
    learner = Learner(game, config.network, config.train, device=device)
    acting = new_model(config.network, game.observation_shape, game.num_actions)
    worker = SelfPlayWorker(game, _publish(learner, acting), config.search, config.selfplay,
                            seed=config.train.seed * 1_000_003, learned=learned)
    result = InProcessResult(learner=learner, step=0, games=0, positions=0)
    published = 0
    while learner.step < target:
        if result.rounds >= max_rounds:
            raise RuntimeError(f"{max_rounds} rounds of self-play reached step {learner.step} "
                               f"of {target}: raise sample_reuse or lower min_buffer")
        trajectories, stats = worker.play(moves=moves_per_round)
        result.rounds += 1
        result.games += stats["games"]
        result.positions += stats["positions"]
        if stats["positions"]:
            learner.add(trajectories)
        until_publish = published + config.train.publish_every - learner.step
        metrics = learner.train(min(target - learner.step, until_publish))
        if metrics["steps_done"]:
            result.losses = {k: v for k, v in metrics.items() if "/" in k}
            if progress is not None:
                progress(learner.step, result.losses)
        if learner.step - published >= config.train.publish_every:
            worker.set_evaluate(_publish(learner, acting))
            published = learner.step
    result.step = learner.step
    return result


def _publish(learner: Learner, acting: PolicyValueNet) -> Any:
    """The learner's current weights, copied into ``acting``, as the search's evaluate."""
    load_numpy_weights(acting, learner.weights())
    return make_evaluate_fn(acting, "cpu", num_threads=None, use_jit=False)
