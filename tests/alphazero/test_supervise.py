"""The driver's rules for failing workers, without Ray: a burst ends the run, an unplaced
replacement is given up after its timeout."""

import pytest

from alphazero.train.supervise import Placements, TrainingError, WorkerFailures


def test_a_worker_that_keeps_failing_ends_the_run_with_its_own_error():
    failures = WorkerFailures(limit=3)
    failures.failed(0, "ValueError: bad network")
    failures.failed(0, "ValueError: bad network")
    with pytest.raises(TrainingError, match="worker 0 failed 3 times in a row.*"
                                            "the last error: ValueError: bad network"):
        failures.failed(0, "ValueError: bad network")


def test_a_success_between_failures_resets_the_count():
    failures = WorkerFailures(limit=2)
    for _ in range(5):
        failures.failed(1, "node died")
        failures.succeeded(1)
    failures.failed(0, "node died")  # slots count apart
    with pytest.raises(TrainingError):
        failures.failed(1, "node died") or failures.failed(1, "node died")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_replacements_not_placed_in_time_are_given_up():
    clock = Clock()
    placements = Placements(timeout_s=60, clock=clock)
    placements.started(0, "ref0")
    placements.started(1, "ref1")
    ready: set = set()
    assert placements.overdue(lambda refs: [r for r in refs if r in ready]) == []
    clock.now = 30
    ready.add("ref0")  # worker 0 came up
    assert placements.overdue(lambda refs: [r for r in refs if r in ready]) == []
    assert len(placements) == 1
    clock.now = 61
    assert placements.overdue(lambda refs: []) == [1]
    assert len(placements) == 0 and placements.overdue(lambda refs: []) == []


def test_forgotten_placements_are_not_reported():
    clock = Clock()
    placements = Placements(timeout_s=1, clock=clock)
    placements.started(2, "ref")
    placements.forget(2)
    clock.now = 5
    assert placements.overdue(lambda refs: []) == []
