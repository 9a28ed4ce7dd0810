"""An inference server: one network copy that evaluates all workers' leaves in shared batches.

Each self-play worker sends its batch of leaves (``observations[M, C, H, W]``, ``legal[M, A]``)
and waits for the answer. The server gathers requests until every worker has one pending or
``max_wait_s`` has passed since the first, runs the network once on their concatenation and
returns each worker its slice. On a GPU this turns many small CPU batches into one large one;
without CUDA it runs on the CPU (logged), which is what the tests here exercise.

``BatchEvaluator`` is the plain, Ray-free core; ``InferenceServer`` is its asyncio Ray actor
body (wrapped with ``ray.remote`` by ``selfplay.actors``).
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import torch

from nets.backends import LiveNetwork
from nets.config import NetworkConfig
from nets.torch_net import select_device

logger = logging.getLogger(__name__)


def server_device(preference: str) -> torch.device:
    """The device for the server: CUDA when asked for ("auto"/"cuda") and present, else CPU."""
    device = select_device(preference)
    if device.type == "cpu" and preference != "cpu":
        logger.warning("inference server: CUDA is not available, evaluating on the CPU")
    return device


class BatchEvaluator:
    """Evaluates a list of requests with one network call.

    Args:
      network: the network's shape.
      observation_shape, num_actions: the game's.
      device: a torch device (see ``server_device``).
      backend: what runs the network on a CPU (``nets.backends``; on a GPU it is torch).
    """

    def __init__(
        self,
        network: NetworkConfig,
        observation_shape: tuple[int, int, int],
        num_actions: int,
        device: torch.device | str = "cpu",
        backend: str = "auto",
    ):
        self.device = torch.device(device)
        on_cpu = self.device.type == "cpu"
        if backend == "onnx-int8":  # no calibration set here: the server stays float32
            backend = "onnx"
        # On CPU: one thread, the measured rule for a process sharing a small machine.
        self.net = LiveNetwork(network, observation_shape, num_actions,
                               backend=backend if on_cpu else "torch", device=str(self.device),
                               num_threads=1 if on_cpu else None)
        self.version = -1
        self.calls = 0  # network calls
        self.requests = 0  # requests answered

    def set_weights(self, version: int, weights: dict[str, np.ndarray]) -> None:
        self.net.set_weights(weights)  # a new ONNX session, or the one trace refreshed in place
        self.version = version

    def evaluate_many(
        self, requests: list[tuple[np.ndarray, np.ndarray]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(obs float32[M_i, C, H, W], legal bool[M_i, A])] -> [(logits[M_i, A], values[M_i])]."""
        if self.version < 0:
            raise RuntimeError("the inference server has no weights yet (call set_weights)")
        sizes = [len(obs) for obs, _ in requests]
        observations = np.concatenate([obs for obs, _ in requests])  # [sum M_i, C, H, W]
        legal = np.concatenate([mask for _, mask in requests])  # [sum M_i, A]
        logits, values = self.net.evaluate(observations, legal)
        self.calls += 1
        self.requests += len(requests)
        bounds = np.cumsum(sizes)[:-1]
        return list(zip(np.split(logits, bounds), np.split(values, bounds)))


class InferenceServer:
    """Asyncio actor body: batches concurrent ``evaluate`` calls from ``clients`` workers."""

    def __init__(
        self,
        network: NetworkConfig,
        observation_shape: tuple[int, int, int],
        num_actions: int,
        *,
        device: str = "auto",
        clients: int = 1,
        max_wait_s: float = 0.002,
        backend: str = "auto",
    ):
        self.core = BatchEvaluator(network, observation_shape, num_actions, server_device(device),
                                   backend)
        self.clients = max(1, clients)
        self.max_wait_s = max_wait_s
        self._pending: list[tuple[np.ndarray, np.ndarray, asyncio.Future]] = []
        self._timer: asyncio.TimerHandle | None = None

    async def set_weights(self, version: int, weights: dict[str, np.ndarray]) -> None:
        self.core.set_weights(version, weights)

    async def device(self) -> str:
        return str(self.core.device)

    async def backend(self) -> str:
        return self.core.net.backend

    async def stats(self) -> dict[str, int]:
        return {
            "calls": self.core.calls,
            "requests": self.core.requests,
            "version": self.core.version,
        }

    async def evaluate(
        self, observations: np.ndarray, legal: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((observations, legal, future))
        if len(self._pending) >= self.clients:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.max_wait_s, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            results = self.core.evaluate_many([(obs, legal) for obs, legal, _ in batch])
        except Exception as err:  # noqa: BLE001 - every waiting worker hears about it
            for *_, future in batch:
                future.set_exception(err)
            return
        for (*_, future), result in zip(batch, results):
            future.set_result(result)
