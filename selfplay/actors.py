"""Ray at the edge: self-play workers and the inference server as actors.

The classes here are plain; ``start_workers`` and ``start_inference_server`` wrap them with
``ray.remote``. Workers are spread over the cluster's nodes (``SPREAD``), one CPU each. Only
numpy arrays and plain numbers go in and out of their methods.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import ray

from games import get_game
from nets.backends import LiveNetwork, playout_observations
from nets.config import NetworkConfig
from search import SearchParams
from search.learned import LearnedWeights
from selfplay.inference import InferenceServer
from selfplay.worker import SelfPlayWorker

logger = logging.getLogger(__name__)


def _no_weights(observations: np.ndarray, legal: np.ndarray):
    raise RuntimeError("self-play worker has no network weights yet (call set_weights)")


class SelfPlayActor:
    """A ``SelfPlayWorker`` with its own CPU copy of the network, or the inference server's.

    ``play()`` runs for ``config.report_seconds`` and returns (trajectories, stats), both numpy
    or plain numbers; stats also name the worker, its node and the weight version used.
    ``learned``: the learned search's weights as arrays (``learned_arrays``) for arm learned.
    ``backend``: what runs the worker's own network (``nets.backends``). ``root_share``: see
    ``SelfPlayWorker`` (tandem training of the learned search).
    """

    def __init__(
        self,
        game_name: str,
        network: NetworkConfig,
        params: SearchParams,
        config,
        *,
        worker_id: int,
        seed: int,
        server: Any = None,
        learned: dict[str, np.ndarray] | None = None,
        backend: str = "auto",
        root_share: float = 0.0,
    ):
        self.game = get_game(game_name)
        self.config = config
        self.worker_id = worker_id
        self.server = server
        self.version = -1
        self.net: LiveNetwork | None = None
        if server is None:  # the weights come with set_weights
            calibration = (playout_observations(self.game, seed=seed)
                           if backend == "onnx-int8" else None)
            # One thread per worker process: measured fastest on 2 cores.
            self.net = LiveNetwork(network, self.game.observation_shape, self.game.num_actions,
                                   backend=backend, num_threads=1, calibration=calibration)
        evaluate = self._remote_evaluate if server is not None else _no_weights
        self.worker = SelfPlayWorker(
            self.game,
            evaluate,
            params,
            config,
            seed=seed,
            learned=LearnedWeights(**learned) if learned else None,
            root_share=root_share,
        )
        self.node_id = ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""

    def node(self) -> str:
        """The Ray node this worker runs on."""
        return self.node_id

    def _remote_evaluate(self, observations: np.ndarray, legal: np.ndarray):
        return ray.get(self.server.evaluate.remote(observations, legal))

    def set_weights(self, version: int, weights: dict[str, np.ndarray] | None,
                    learned: dict[str, np.ndarray] | None = None) -> int:
        """Use weight version ``version`` (None: the inference server holds the weights), and
        with it the learned search's weights ``learned`` when they are trained in tandem."""
        if learned is not None:
            self.worker.set_learned(LearnedWeights(**learned))
        if self.net is not None and weights is not None:
            first = self.net.version < 0
            self.net.set_weights(weights)  # a new ONNX session, or the one trace refreshed
            if first:
                self.worker.set_evaluate(self.net.evaluate)
        self.version = version
        return version

    def play(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        cpu = time.process_time()
        trajectories, stats = self.worker.play(seconds=self.config.report_seconds)
        stats.update(worker_id=self.worker_id, node_id=self.node_id, version=self.version,
                     cpu_seconds=time.process_time() - cpu)
        return trajectories, stats


def learned_arrays(weights: LearnedWeights | None) -> dict[str, np.ndarray] | None:
    """The learned search's weights in the form that crosses actor boundaries."""
    if weights is None:
        return None
    return {"selection": weights.selection, "readout": weights.readout,
            "target": weights.target, "backup": weights.backup}


def start_workers(
    count: int,
    game_name: str,
    network: NetworkConfig,
    params: SearchParams,
    config,
    *,
    seed: int,
    server: Any = None,
    first_id: int = 0,
    learned: dict[str, np.ndarray] | None = None,
    backend: str = "auto",
    root_share: float = 0.0,
) -> list:
    """``count`` self-play actors, one CPU each, spread over the cluster's nodes.

    ``learned``: the learned search's weights (``learned_arrays``) when ``params.arm`` is
    learned; a few hundred floats, sent with each actor's arguments. ``backend`` runs each
    worker's own network (not used with a ``server``). ``root_share``: see
    ``SelfPlayWorker``."""
    actor = ray.remote(num_cpus=1, max_restarts=0)(SelfPlayActor)
    return [
        actor.options(scheduling_strategy="SPREAD", name=None).remote(
            game_name,
            network,
            params,
            config,
            worker_id=first_id + i,
            seed=seed + 7919 * (first_id + i),
            server=server,
            learned=learned,
            backend=backend,
            root_share=root_share,
        )
        for i in range(count)
    ]


def start_inference_server(
    game_name: str, network: NetworkConfig, *, device: str, clients: int, max_wait_s: float,
    backend: str = "auto",
) -> Any:
    """The inference server actor, given a GPU when the cluster has one and CPU isn't forced."""
    game = get_game(game_name)
    gpus = ray.cluster_resources().get("GPU", 0)
    use_gpu = device != "cpu" and gpus >= 1
    if not use_gpu:
        logger.info("inference server: no GPU in the cluster (or device=cpu): CPU fallback")
    # No CPU reserved: on a CPU it does the network work the workers then no longer do.
    actor = ray.remote(num_cpus=0, num_gpus=1 if use_gpu else 0, max_concurrency=1000)(
        InferenceServer
    )
    return actor.remote(
        network,
        game.observation_shape,
        game.num_actions,
        device="auto" if use_gpu else "cpu",
        clients=clients,
        max_wait_s=max_wait_s,
        backend=backend,
    )
