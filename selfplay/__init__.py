"""Self-play: the worker (plain class), the inference server and their Ray actors.

``selfplay.worker`` needs no torch and no Ray; ``selfplay.inference`` and ``selfplay.actors``
bring in the network and Ray, so they are imported from their modules, not from here.
"""

from selfplay.worker import SelfPlayStats, SelfPlayWorker

__all__ = ["SelfPlayStats", "SelfPlayWorker"]
