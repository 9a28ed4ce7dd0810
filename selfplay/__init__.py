"""Self-play: the worker (a plain class), the inference server and their Ray actors.

``SelfPlayWorker`` needs neither torch nor Ray: give it a game, an ``evaluate`` function and
search parameters, and ``play`` returns training positions. The inference server and the Ray
actors that wrap both for ``alphazero train`` load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nets.lazy import lazy_attributes
from selfplay.worker import SelfPlayStats, SelfPlayWorker

if TYPE_CHECKING:
    from selfplay.actors import (
        SelfPlayActor,
        learned_arrays,
        start_inference_server,
        start_workers,
    )
    from selfplay.inference import BatchEvaluator, InferenceServer, server_device

# Names whose modules import torch and Ray at their top (about 2 s and 0.5 s), loaded on first
# access (PEP 562), so that using the worker alone, as the tests and benchmarks do, stays fast.
_LAZY = {
    "BatchEvaluator": "selfplay.inference",
    "InferenceServer": "selfplay.inference",
    "server_device": "selfplay.inference",
    "SelfPlayActor": "selfplay.actors",
    "learned_arrays": "selfplay.actors",
    "start_inference_server": "selfplay.actors",
    "start_workers": "selfplay.actors",
}
__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)


__all__ = [
    "BatchEvaluator",
    "InferenceServer",
    "SelfPlayActor",
    "SelfPlayStats",
    "SelfPlayWorker",
    "learned_arrays",
    "server_device",
    "start_inference_server",
    "start_workers",
]
