"""The driver's rules for failing parts of a run: which failures end it, when a worker that
cannot be placed is given up, how many CPUs a local run has, and stopping on SIGTERM.

Plain classes (no Ray) with an injectable clock, so the rules are tested without a cluster.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

FAILURES_IN_A_ROW = 3
"""A worker slot whose workers fail this many times without finishing one ``play`` fails the
same way every time (a config its network cannot be built from, a missing file, no memory):
the run ends with that error instead of restarting the worker for ever."""
PLACEMENT_TIMEOUT_S = 60.0
"""Seconds a replacement worker may wait for a CPU (its node gone, the cluster full) before
the run carries on without it."""


class TrainingError(RuntimeError):
    """A run that cannot go on (its workers keep failing, its learner died): one line that
    says why and, where it helps, how to continue."""


class WorkerFailures:
    """Counts each worker slot's failures since it last finished a ``play``."""

    def __init__(self, limit: int = FAILURES_IN_A_ROW):
        self.limit = limit
        self._in_a_row: dict[int, int] = {}

    def succeeded(self, worker: int) -> None:
        self._in_a_row.pop(worker, None)

    def failed(self, worker: int, error: str) -> None:
        """Record a failure; raise ``TrainingError`` (with ``error``, the worker's own last
        line) once the slot has failed ``limit`` times in a row."""
        count = self._in_a_row[worker] = self._in_a_row.get(worker, 0) + 1
        if count >= self.limit:
            raise TrainingError(
                f"self-play worker {worker} failed {count} times in a row, each time before "
                f"finishing a game batch; the last error: {error}")


class Placements:
    """Replacement workers waiting to be placed, each with a reference that is ready once
    the worker runs (``SelfPlayActor.node``)."""

    def __init__(self, timeout_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.timeout_s = PLACEMENT_TIMEOUT_S if timeout_s is None else timeout_s
        self._clock = clock
        self._waiting: dict[int, tuple[Hashable, float]] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def started(self, worker: int, ref: Hashable) -> None:
        self._waiting[worker] = (ref, self._clock())

    def forget(self, worker: int) -> None:
        self._waiting.pop(worker, None)

    def overdue(self, ready: Callable[[list], Sequence[Hashable]]) -> list[int]:
        """Workers still unplaced after ``timeout_s`` (forgotten here: the caller drops them).

        ``ready(refs)`` returns those of ``refs`` that are ready now, without waiting."""
        if not self._waiting:
            return []
        done = set(ready([ref for ref, _ in self._waiting.values()]))
        now, late = self._clock(), []
        for worker, (ref, since) in list(self._waiting.items()):
            if ref in done:
                del self._waiting[worker]
            elif now - since >= self.timeout_s:
                del self._waiting[worker]
                late.append(worker)
        return late


def local_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def stop_on_signals() -> dict:
    """Make SIGTERM stop the run as Ctrl-C does (KeyboardInterrupt), so that ``run``'s
    ``finally`` shuts the local Ray instance down instead of leaving its agents running.
    Returns the handlers to put back; nothing is changed outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, _interrupt)
    return previous


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def restore_signals(previous: dict) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
