"""Training: self-play workers, a learner and the evaluation ladder, orchestrated with Ray.

    workers (Ray actors, SPREAD) --games--> learner actor (replay buffer, SGD) --weights-->
    ray.put once per version --> workers / inference server;  learner --> checkpoints;
    driver --> TensorBoard, progress bar, evaluation ladder (a Ray task), summary.

The driver never blocks on one worker: it collects whatever finishes with ``ray.wait`` and
keeps two ``play`` calls queued per worker so self-play never stalls while it is busy. The
learner only trains as fast as the sample-reuse budget allows (see ``Learner``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import ray
import torch
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from tqdm import tqdm

from alphazero.config import Config, ConfigError, to_dict
from alphazero.learned.tandem import initial_search
from alphazero.train import rundir
from alphazero.train.log import SelfPlayMeter, TrainResult, bar_postfix, strength_text
from alphazero.train.remote import LearnerActor, best_score, evaluation_available, last_line
from alphazero.train.remote import ladder_task as _ladder_task
from alphazero.train.supervise import (
    Placements,
    TrainingError,
    WorkerFailures,
    local_cpus,
    restore_signals,
    stop_on_signals,
)
from games import GAME_NAMES, get_game
from nets.checkpoint import CheckpointError
from nets.files import atomic_write_text
from nets.loader import resolve_learned
from selfplay.actors import learned_arrays, start_inference_server, start_workers

logger = logging.getLogger(__name__)
PLAYS_IN_FLIGHT = 2  # per worker: one running, one queued


def train(
    config: Config,
    *,
    run_dir: Path,
    resume: bool = False,
    address: str | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train (or, with ``resume``, continue) the run in ``run_dir``; return its figures."""
    return _Trainer(config, run_dir, resume=resume, address=address, progress=progress).run()


class _Trainer:
    def __init__(
        self, config: Config, run_dir: Path, *, resume: bool, address: str | None, progress: bool
    ):
        self.config = config
        self.cfg = config.train
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.address = address
        self.progress = progress
        self.game = get_game(config.game)
        if config.game not in GAME_NAMES:  # the Ray workers' processes know the built-ins only
            raise ConfigError(f"game {config.game!r} is registered in this process only, so "
                              f"the Ray workers cannot find it: train it with alphazero.train."
                              f"in_process.train_in_process (docs/own_game.md)")
        # Checked here, before Ray starts: a missing or wrong file is one clear error.
        self.tandem = config.search_training.enabled
        if self.tandem:  # the learner trains them; the workers start from the same weights
            self.learned = learned_arrays(initial_search(self.game, config).weights())
        else:
            self.learned = learned_arrays(resolve_learned(self.game, config.search))
        self.step = self.start_step = 0
        self.version = 0
        self.positions_added = 0  # the driver's mirror of the learner's count
        self.buffer_size = 0
        self.train_ref = None
        self.waiting_for_data = False
        self.plays: dict[Any, tuple[int, Any]] = {}  # stats ref -> (worker, trajectories ref)
        self.evals: dict[Any, tuple] = {}  # metrics ref -> (step, weights ref, checkpoints)
        self.weights_ref = None
        self.losses: dict[str, float] = {}
        self.evaluation: dict[str, float] = {}
        self.evaluation_step: int | None = None
        self.best_score = float("-inf")
        self.last_checkpoint: Path | None = None
        self.checkpoint_step = -1
        self.checkpoint_buffer_size: int | None = None
        self.elapsed_before = 0.0  # training seconds spent before a resume (train.minutes)
        self.cpu_before = 0.0  # CPU seconds of workers and learner before a resume
        self.worker_cpu = 0.0  # CPU seconds the workers reported since this start
        self.learner_cpu = 0.0  # the learner process's CPU seconds since this start
        self.loop_started: float | None = None
        self.meter = SelfPlayMeter()
        self.games_by_node: Counter = Counter()
        self.failures = WorkerFailures()
        self.placements = Placements()

    # ------------------------------------------------------------------- run
    def run(self) -> TrainResult:
        started = time.time()
        self._init_ray()
        self.writer = None
        self.bar = None
        previous = stop_on_signals()
        try:
            self._start()
            self._loop()
            self._finish()
        finally:
            if self.bar is not None:
                self.bar.close()
            if self.writer is not None:
                self.writer.close()
            ray.shutdown()  # a local instance goes with its processes (agents included)
            restore_signals(previous)
        result = self._result(time.time() - started)
        atomic_write_text(  # strict JSON: no Infinity or NaN (as_json makes them null)
            self.run_dir / "summary.json",
            json.dumps(result.as_json(), indent=2, allow_nan=False) + "\n",
        )
        return result

    def _init_ray(self) -> None:
        common = {
            "include_dashboard": False,
            "logging_level": logging.WARNING,
            "log_to_driver": True,
        }
        if self.address:
            ray.init(address=self.address, **common)
        else:
            workers, cpus = self.config.selfplay.workers, local_cpus()
            if workers > cpus:  # Ray would start them all and the machine would crawl
                raise ConfigError(
                    f"selfplay.workers={workers} needs {workers} CPUs, but this machine has "
                    f"{cpus}: lower selfplay.workers, or join a cluster with --address")
            ray.init(address="local", num_cpus=cpus, object_store_memory=1 << 30, **common)
        torch.set_num_threads(1)
        self.node_id = ray.get_runtime_context().get_node_id()
        self.here = NodeAffinitySchedulingStrategy(node_id=self.node_id, soft=False)

    def _start(self) -> None:
        from torch.utils.tensorboard import SummaryWriter

        config, game = self.config, self.game
        self.ladder = self.cfg.eval_every > 0 and evaluation_available()
        gpu = 0.5 if config.device != "cpu" and ray.cluster_resources().get("GPU", 0) else 0
        self.learner = (
            ray.remote(LearnerActor)
            .options(num_cpus=0, num_gpus=gpu, scheduling_strategy=self.here)
            .remote(game.name, config.network, config)
        )
        if self.resume:
            self._restore()
        rundir.write_config(self.run_dir, config)
        self.writer = SummaryWriter(
            str(self.run_dir), purge_step=self.step if self.resume else None
        )
        self.writer.add_text(
            "config", "```\n" + json.dumps(to_dict(config), indent=1) + "\n```", self.step
        )
        sp = config.selfplay
        cpus = ray.cluster_resources().get("CPU", 0)
        if sp.workers > cpus:
            raise ConfigError(
                f"selfplay.workers={sp.workers} needs {sp.workers} CPUs, but the "
                f"Ray cluster has {cpus:g}"
            )
        self.server = None
        if sp.inference_server:
            self.server = start_inference_server(
                game.name,
                config.network,
                device=config.device,
                clients=sp.workers,
                max_wait_s=sp.inference_wait_ms / 1000,
                backend=config.backend,
            )
        seed = self.cfg.seed * 1_000_003 + self.step  # a resumed run plays new games
        self.workers = start_workers(
            sp.workers,
            game.name,
            config.network,
            config.search,
            sp,
            seed=seed,
            server=self.server,
            learned=self.learned,
            backend=config.backend,
            root_share=config.search_training.root_share if self.tandem else 0.0,
        )
        nodes = ray.get([w.node.remote() for w in self.workers])  # wait until all are up
        logger.info("%d self-play workers on %d node(s)", len(nodes), len(set(nodes)))
        self._publish()
        for w in range(len(self.workers)):
            for _ in range(PLAYS_IN_FLIGHT):
                self._submit_play(w)
        tty = sys.stderr.isatty()
        self.bar = tqdm(
            total=self.cfg.steps,
            initial=self.step,
            desc=f"train {game.name}",
            unit="step",
            file=sys.stderr,
            dynamic_ncols=True,
            disable=not self.progress,
            mininterval=0.5 if tty else 60.0,
            maxinterval=10.0 if tty else 600.0,
        )
        logger.info("%s; run directory %s", rundir.config_summary(config), self.run_dir)

    def _restore(self) -> None:
        removed = rundir.remove_partial_files(self.run_dir)
        if removed:
            logger.info("removed %d partly written file(s) left in %s by an interrupted run",
                        removed, rundir.CHECKPOINT_DIR)
        try:
            path, counters = rundir.restore_latest(self.run_dir, self._learner_resume)
        except FileNotFoundError as err:  # one line naming each unreadable checkpoint
            raise CheckpointError(str(err)) from None
        self.step = self.start_step = counters["step"]
        self.positions_added = counters["positions_added"]
        self.buffer_size = counters["buffer_size"]
        self.version = counters["version"]
        self.best_score = counters["best_score"]
        self.elapsed_before = counters["elapsed_seconds"]
        self.cpu_before = counters["cpu_seconds"]
        self.last_checkpoint = path
        self.checkpoint_step = self.step
        self.checkpoint_buffer_size = self.buffer_size
        # The buffer as that checkpoint saved it; the previous run's summary also counts the
        # positions it generated after its last checkpoint, which are not kept.
        logger.info(
            "resumed from %s: step %d, %s positions in the replay buffer saved with that "
            "checkpoint (%s generated in all up to it)",
            path, self.step, f"{self.buffer_size:,}", f"{self.positions_added:,}",
        )

    def _learner_resume(self, path: Path) -> dict[str, Any]:
        try:
            return ray.get(self.learner.resume.remote(str(path)))
        except ray.exceptions.RayTaskError as err:  # the learner's error, not Ray's wrapping
            raise err.cause from None  # (whose text is a traceback ending in its class name)

    # ------------------------------------------------------------------ loop
    def _elapsed(self) -> float:
        """Training seconds spent by the run, across resumes."""
        now = time.time()
        return self.elapsed_before + (now - (self.loop_started or now))

    def _time_progress(self) -> float:
        """Share of train.minutes or train.cpu_minutes spent, the larger (0 without a time
        budget)."""
        shares = [0.0]
        if self.cfg.minutes > 0:
            shares.append(self._elapsed() / (60.0 * self.cfg.minutes))
        if self.cfg.cpu_minutes > 0:
            shares.append(self._cpu_seconds() / (60.0 * self.cfg.cpu_minutes))
        return min(max(shares), 1.0)

    def _at_end(self) -> bool:
        return self.step >= self.cfg.steps or self._time_progress() >= 1.0

    def _loop(self) -> None:
        self.loop_started = time.time()
        self.meter.restart_window()
        while not (self._at_end() and self.train_ref is None):
            self._maybe_train()
            self._drop_unplaced_workers()
            refs = list(self.plays) + list(self.evals)
            if self.train_ref is not None:
                refs.append(self.train_ref)
            ready, _ = ray.wait(refs, num_returns=1, timeout=5.0)
            for ref in ready:
                if ref == self.train_ref:
                    self._on_trained(ref)
                elif ref in self.plays:
                    self._on_played(ref)
                else:
                    self._on_evaluated(ref)
            self._log_selfplay(self.meter.window())
        if self.checkpoint_step != self.step:  # time ran out while waiting for games
            logger.info("time budget spent at step %d (%.1f minutes, %.1f CPU minutes)",
                        self.step, self._elapsed() / 60, self._cpu_seconds() / 60)
            self._after_steps(at_end=True)

    def _maybe_train(self) -> None:
        if self.train_ref is not None or self.waiting_for_data or self._at_end():
            return
        if self.buffer_size < self.cfg.min_buffer:
            return
        budget = int(self.cfg.sample_reuse * self.positions_added // self.cfg.batch_size)
        # Train up to the next step where something happens (publish, checkpoint, ladder).
        targets = [
            budget,
            self.cfg.steps,
            _next_multiple(self.step, self.cfg.publish_every),
            _next_multiple(self.step, self.cfg.checkpoint_every),
        ]
        if self.cfg.eval_every > 0:
            targets.append(_next_multiple(self.step, self.cfg.eval_every))
        if min(targets) > self.step:
            self.train_ref = self.learner.train.remote(
                min(targets) - self.step, self._time_progress()
            )

    def _on_trained(self, ref) -> None:
        self.train_ref = None
        metrics = self._learner_get(ref)
        done = metrics.pop("steps_done")
        if done == 0:
            self.waiting_for_data = True
            return
        self.step = metrics.pop("step")
        self.buffer_size = metrics.pop("buffer_size")
        for key in ("positions_added", "games"):
            metrics.pop(key)
        self.learner_cpu = metrics.pop("cpu_seconds")
        self.losses = metrics
        for key, value in metrics.items():
            self._scalar(key, value, self.step)
        self.bar.update(done)
        self._postfix()
        self._after_steps(at_end=self._at_end())

    def _after_steps(self, *, at_end: bool) -> None:
        """Publish, checkpoint and run the ladder when the step (or the run's end) calls for it."""
        evaluate = self.ladder and (self.step % self.cfg.eval_every == 0 or at_end)
        if self.step % self.cfg.publish_every == 0 or at_end or evaluate:
            self._publish()  # the ladder evaluates the published weights
        if self.step % self.cfg.checkpoint_every == 0 or at_end:
            self._checkpoint()
        if evaluate:
            self._evaluate()

    def _on_played(self, ref) -> None:
        worker, trajectories = self.plays.pop(ref)
        try:
            stats = ray.get(ref)
        except ray.exceptions.RayError as err:
            if self.workers[worker] is None:  # given up while this play was in flight
                return
            self.failures.failed(worker, last_line(err))  # a burst ends the run
            logger.warning(
                "self-play worker %d failed (%s); starting a new one", worker, last_line(err)
            )
            self._replace_worker(worker)
            return
        self.failures.succeeded(worker)
        self.placements.forget(worker)
        self._submit_play(worker)
        if stats["positions"] > 0:
            self.learner.add.remote(trajectories)  # the learner fetches it from the store
            self.positions_added += stats["positions"]
            self.buffer_size = min(self.buffer_size + stats["positions"], self.cfg.buffer_size)
            self.waiting_for_data = False
        self.meter.add(stats)
        self.worker_cpu += stats.get("cpu_seconds", 0.0)
        self.games_by_node[stats["node_id"]] += stats["games"]
        self._postfix()

    def _submit_play(self, worker: int) -> None:
        trajectories, stats = self.workers[worker].play.options(num_returns=2).remote()
        self.plays[stats] = (worker, trajectories)

    def _forget_worker(self, worker: int) -> None:
        ray.kill(self.workers[worker], no_restart=True)
        for ref in [r for r, (w, _) in self.plays.items() if w == worker]:
            del self.plays[ref]

    def _replace_worker(self, worker: int) -> None:
        self._forget_worker(worker)
        sp = self.config.selfplay
        seed = self.cfg.seed * 1_000_003 + self.step + 104_729 * (self.version + 1)
        (self.workers[worker],) = start_workers(
            1,
            self.game.name,
            self.config.network,
            self.config.search,
            sp,
            seed=seed,
            server=self.server,
            first_id=worker,
            learned=self.learned,
            backend=self.config.backend,
            root_share=self.config.search_training.root_share if self.tandem else 0.0,
        )
        weights = None if self.server is not None else self.weights_ref
        self.workers[worker].set_weights.remote(self.version, weights,
                                                self.learned if self.tandem else None)
        self.placements.started(worker, self.workers[worker].node.remote())
        for _ in range(PLAYS_IN_FLIGHT):
            self._submit_play(worker)

    def _drop_unplaced_workers(self) -> None:
        """Give up replacement workers that found no CPU in time, and say so."""
        def ready(refs: list) -> list:
            return ray.wait(refs, num_returns=len(refs), timeout=0)[0]

        for worker in self.placements.overdue(ready):
            self._forget_worker(worker)
            self.workers[worker] = None
            left = sum(w is not None for w in self.workers)
            logger.warning(
                "self-play worker %d could not be placed in %.0f s (no free CPU, or its node "
                "is gone); carrying on with %d of %d workers", worker,
                self.placements.timeout_s, left, len(self.workers))
            if left == 0:
                raise TrainingError("no self-play worker could be placed: the cluster has no "
                                    "free CPU for them")

    # ------------------------------------------------- publish, save, evaluate
    def _publish(self) -> None:
        """One object-store copy of the new weights, sent to every worker (or the server)."""
        self.version += 1
        # a list: the weights' reference is not resolved
        self.weights_ref, learned, figures = self._learner_get(self.learner.publish.remote())
        if learned is not None:  # the learned search, trained in tandem: the same version
            self.learned = learned
        for key, value in figures.items():
            self._scalar(key, value, self.step)
        if self.server is not None:
            self.server.set_weights.remote(self.version, self.weights_ref)
        for worker in filter(None, self.workers):
            worker.set_weights.remote(self.version, None if self.server else self.weights_ref,
                                      learned)

    def _checkpoint(self) -> None:
        path = rundir.checkpoint_path(self.run_dir, self.step)
        extra = {
            "config": to_dict(self.config),
            "version": self.version,
            "best_score": self.best_score,
            "elapsed_seconds": self._elapsed(),
            "cpu_seconds": self._cpu_seconds(),
        }
        self._learner_get(
            self.learner.save.remote(str(path), str(rundir.replay_path(path)), extra))
        if self.tandem:  # the search trained so far, beside the checkpoints
            self._learner_get(self.learner.save_search.remote(
                str(self.run_dir / rundir.SEARCH_NAME), self.step))
        # The learner runs calls in order: its counters now are those it just saved.
        saved = self._learner_get(self.learner.counters.remote())
        self.checkpoint_buffer_size = saved["buffer_size"]
        in_use = frozenset(Path(p) for _, _, earlier in self.evals.values() for p in earlier)
        rundir.prune_checkpoints(self.run_dir, self.cfg.keep_checkpoints, protect=in_use)
        self.last_checkpoint = path
        self.checkpoint_step = self.step

    def _evaluate(self) -> None:
        earlier = [str(p) for s, p in rundir.list_checkpoints(self.run_dir) if s < self.step]
        earlier = earlier[-self.cfg.eval_history :] if self.cfg.eval_history else []
        config = self.config
        if self.cfg.eval_simulations:
            config = dataclasses.replace(
                config,
                search=dataclasses.replace(config.search, simulations=self.cfg.eval_simulations),
            )
        # max_calls=1: a fresh process per ladder, so the TorchScript traces of its networks
        # (never freed within a process, ~2-5 MB each) go when it ends.
        task = ray.remote(max_calls=1)(_ladder_task).options(num_cpus=0,
                                                             scheduling_strategy=self.here)
        ref = task.remote(
            self.game.name,
            self.config.network,
            self.weights_ref,
            config,
            step=self.step,
            run_dir=str(self.run_dir),
            earlier=earlier,
            seed=self.cfg.seed + self.step,
            learned=self.learned,
            clock={"elapsed_seconds": round(self._elapsed(), 1),
                   "cpu_seconds": round(self._cpu_seconds(), 1)},
        )
        self.evals[ref] = (self.step, self.weights_ref, earlier)

    def _on_evaluated(self, ref) -> None:
        step, weights_ref, _ = self.evals.pop(ref)
        try:
            metrics = ray.get(ref)
        except ray.exceptions.RayError as err:
            logger.warning("evaluation at step %d failed: %s", step, last_line(err))
            return
        for key, value in metrics.items():
            self._scalar(key if key.startswith("eval/") else f"eval/{key}", value, step)
        if self.evaluation_step is None or step >= self.evaluation_step:
            self.evaluation, self.evaluation_step = metrics, step
        logger.info("step %d evaluation: %s", step, strength_text(metrics))
        score = best_score(metrics, self.cfg.best_metric)
        if score is not None and score > self.best_score:
            self.best_score = score
            # The learner writes it, as it writes every checkpoint; waited for, so that a run
            # that ends now has its best.pt.
            self._learner_get(self.learner.save_best.remote(
                str(self.run_dir / rundir.CHECKPOINT_DIR / rundir.BEST_NAME), weights_ref,
                {"step": step, "evaluation": metrics}))

    def _finish(self) -> None:
        for worker in filter(None, self.workers):
            ray.kill(worker, no_restart=True)
        self.plays.clear()
        self._log_selfplay(self.meter.last_window())  # none if short: a spike of games/s
        counters = self._learner_get(self.learner.counters.remote())
        self.buffer_size, self.positions_added = counters["buffer_size"], \
            counters["positions_added"]
        if self.evals:  # the last ladder result is the run's strength figure
            logger.info("evaluating the network of step %d (the evaluation ladder)…",
                        max(step for step, _, _ in self.evals.values()))
            if self.bar is not None:
                self.bar.set_postfix_str("evaluating…", refresh=True)
        while self.evals:
            ready, _ = ray.wait(list(self.evals), num_returns=1)
            self._on_evaluated(ready[0])

    def _learner_get(self, ref) -> Any:
        """``ray.get`` of a learner call; a dead or failing learner ends the run with one
        line saying how to continue it."""
        try:
            return ray.get(ref)
        except ray.exceptions.RayError as err:
            what = ("died" if isinstance(err, ray.exceptions.RayActorError)
                    else f"failed ({last_line(err)})")
            if self.last_checkpoint is None:
                how = "no checkpoint was written yet: start the run again"
            else:
                how = (f"continue from its last checkpoint ({self.last_checkpoint.name}) with "
                       f"'alphazero train --resume {self.run_dir}'")
            raise TrainingError(f"the learner {what} at step {self.step}; {how}") from None

    def _cpu_seconds(self) -> float:
        """CPU seconds the run's workers and learner spent, across resumes (the ladder's own
        work not counted): the clock of comparisons between recipes on a shared machine."""
        return self.cpu_before + self.worker_cpu + self.learner_cpu

    # --------------------------------------------------------------- logging
    def _log_selfplay(self, window: dict[str, float] | None) -> None:
        if window is None:
            return
        for key, value in window.items():
            self._scalar(key, value, self.step)
        self._scalar("charts/buffer_size", self.buffer_size, self.step)
        self._scalar("charts/weights_version", self.version, self.step)

    def _scalar(self, tag: str, value: float, step: int) -> None:
        """A TensorBoard scalar, if finite: an Elo bound of a 100% score is infinite, and
        TensorBoard draws an infinite point as a spike to the axis's end."""
        if math.isfinite(value):
            self.writer.add_scalar(tag, value, step)

    def _postfix(self) -> None:
        self.bar.set_postfix_str(
            bar_postfix(
                loss=self.losses.get("losses/total"),
                games=self.meter.games_total,
                games_per_s=self.meter.recent_games_per_s(),
                buffer_size=self.buffer_size,
                min_buffer=self.cfg.min_buffer,
                minutes_left=(max(60 * self.cfg.minutes - self._elapsed(), 0) / 60
                              if self.cfg.minutes > 0 else None),
                cpu_minutes_left=(max(60 * self.cfg.cpu_minutes - self._cpu_seconds(), 0) / 60
                                  if self.cfg.cpu_minutes > 0 else None),
            ),
            refresh=sys.stderr.isatty(),
        )

    def _result(self, seconds: float) -> TrainResult:
        return TrainResult(
            run_dir=self.run_dir,
            step=self.step,
            start_step=self.start_step,
            seconds=seconds,
            games=self.meter.games_total,
            positions=self.positions_added,
            simulations=self.meter.simulations_total,
            losses=self.losses,
            evaluation=self.evaluation,
            evaluation_step=self.evaluation_step,
            checkpoint=self.last_checkpoint,
            games_by_node=dict(self.games_by_node),
            resign_false_positive_rate=self.meter.false_positive_rate(),
            buffer_size=self.buffer_size,
            checkpoint_buffer_size=self.checkpoint_buffer_size,
        )


def _next_multiple(step: int, every: int) -> int:
    return (step // every + 1) * every
