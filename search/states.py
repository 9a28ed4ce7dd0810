"""Searching a list of states: the one chunked loop over ``BatchedMCTS``.

``search_states`` searches every state once from a fresh root, ``batch_size`` trees at a
time, with one ``BatchedMCTS`` whose random stream runs on from chunk to chunk; the answers
come back as one ``StatesResult``, a ``SearchResult`` over all the states. ``search_chunks``
is the loop itself, for a caller that keeps its own ``BatchedMCTS`` between lists of states
(a match agent), and ``chunks`` the bare iteration for a caller that runs each chunk its own
way (several budgets on one tree).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from search.learned import LearnedWeights
from search.mcts import BatchedMCTS, EvaluateFn, SearchResult
from search.params import SearchParams


@dataclass
class StatesResult(SearchResult):
    """``SearchResult`` of every searched state, in order (P states: ``action`` int64[P],
    ``policy`` float32[P, A], ...), with what the chunked search adds."""

    principal_variations: list[list[int]] = field(default_factory=list)
    """Each state's principal variation from its chosen move (with ``pv_length`` > 0; a
    terminal root's is empty)."""
    seconds: float = 0.0
    """Wall time spent in the searches themselves (``BatchedMCTS.run``), all chunks."""


def chunks(mcts: BatchedMCTS, states: Sequence[Any]) -> Iterator[tuple[int, int, np.ndarray]]:
    """Set ``mcts``'s roots to ``states``, ``mcts.batch_size`` at a time; yield each chunk's
    (first index, count, active bool[batch_size]) once its roots are set."""
    width = mcts.batch_size
    for start in range(0, len(states), width):
        chunk = list(states[start:start + width])
        mcts.set_roots(chunk)
        yield start, len(chunk), np.arange(width) < len(chunk)


def search_chunks(mcts: BatchedMCTS, states: Sequence[Any], *, add_noise: bool = False,
                  pv_length: int = 0) -> StatesResult:
    """Search each of ``states`` from a fresh root with ``mcts`` (``mcts.params.simulations``
    each, ``mcts.batch_size`` trees at a time) and read out its move.

    ``add_noise``: root noise (Dirichlet for PUCT, Gumbel's for Gumbel) from ``mcts``'s random
    stream, which runs on across chunks and calls. ``pv_length`` > 0 also reads each tree's
    principal variation, at most that many moves.
    """
    parts: list[SearchResult] = []
    lines: list[list[int]] = []
    seconds = 0.0
    for _, count, active in chunks(mcts, states):
        started = time.perf_counter()
        result = mcts.run(add_noise=add_noise, active=active)
        seconds += time.perf_counter() - started
        parts.append(SearchResult(**{f.name: getattr(result, f.name)[:count]
                                     for f in fields(SearchResult)}))
        if pv_length > 0:
            lines += [mcts.principal_variation(b, first_action=int(a), max_length=pv_length)
                      if a >= 0 else [] for b, a in enumerate(result.action[:count])]
    if not parts:
        parts = [_empty_result(mcts.num_actions)]
    joined = {f.name: (getattr(parts[0], f.name) if len(parts) == 1 else
                       np.concatenate([getattr(p, f.name) for p in parts]))
              for f in fields(SearchResult)}
    return StatesResult(**joined, principal_variations=lines, seconds=seconds)


def search_states(game: Any, evaluate: EvaluateFn, params: SearchParams,
                  states: Sequence[Any], *, batch_size: int | None = None,
                  seed: int | None = None, learned: LearnedWeights | None = None,
                  add_noise: bool = False, pv_length: int = 0) -> StatesResult:
    """Search ``states`` with a new ``BatchedMCTS(game, evaluate, params, seed=seed,
    learned=learned)`` of ``min(batch_size, len(states))`` trees (default: all at once); see
    ``search_chunks`` for ``add_noise`` and ``pv_length``.

    The answers are those of the hand-written loop (one ``BatchedMCTS``, ``set_roots`` on each
    chunk, ``run`` with the chunk's trees active), bit for bit: tests/search/test_states.py.
    """
    width = max(1, min(batch_size or len(states), len(states)))
    mcts = BatchedMCTS(game, evaluate, params, batch_size=width, seed=seed, learned=learned)
    return search_chunks(mcts, states, add_noise=add_noise, pv_length=pv_length)


def _empty_result(a: int) -> SearchResult:
    return SearchResult(action=np.zeros(0, np.int64), policy=np.zeros((0, a), np.float32),
                        value=np.zeros(0, np.float32), network_value=np.zeros(0, np.float32),
                        prior=np.zeros((0, a), np.float32), visits=np.zeros((0, a), np.int32),
                        q=np.zeros((0, a), np.float32), simulations=np.zeros(0, np.int64))
