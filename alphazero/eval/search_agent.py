"""``SearchAgent``: the one match player that searches, and the evaluation cache it uses.

An agent chooses one move for each of a *batch* of positions, one per concurrent game, so it
searches them all in one ``BatchedMCTS`` (one network call per simulation step for every game
at once). What distinguishes the players of the ladder, ``alphazero match`` and the ablation's
arms is settings of this one class: the search parameters (arm, simulations = the budget,
constants), the learned search's weights (either part may be left out: PUCT's selection or
visit readout there), root noise, the evaluation cache and the seed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from games import get_game, is_array_game
from games.base import Game
from nets.loader import resolve_evaluate
from search import BatchedMCTS, EvaluateFn, SearchParams
from search.learned import LearnedWeights
from search.states import search_chunks

if TYPE_CHECKING:
    from alphazero.searcher import SearchSetup

DEFAULT_CACHE_SIZE = 100_000
"""Evaluations a SearchAgent remembers (array games): a quarter of a ladder's are repeats."""


def cached_evaluate(evaluate: EvaluateFn, capacity: int) -> EvaluateFn:
    """``evaluate`` that remembers up to ``capacity`` positions (then starts afresh).

    Positions are keyed by a 128-bit hash of the observation and legal mask. Searches from
    the same openings, and transpositions inside a tree, repeat many positions; a lookup
    costs microseconds, a network evaluation a third of a millisecond on a CPU core.
    """
    cache: dict[bytes, tuple[np.ndarray, float]] = {}

    def evaluate_with_cache(observations: np.ndarray, legal_masks: np.ndarray):
        n = observations.shape[0]
        keys = [hashlib.blake2b(observations[i].tobytes() + legal_masks[i].tobytes(),
                                digest_size=16).digest() for i in range(n)]
        logits = np.zeros(legal_masks.shape, dtype=np.float32)
        values = np.zeros(n, dtype=np.float32)
        missing = []
        for i, key in enumerate(keys):
            hit = cache.get(key)
            if hit is None:
                missing.append(i)
            else:
                logits[i], values[i] = hit
        if missing:
            new_logits, new_values = evaluate(observations[missing], legal_masks[missing])
            logits[missing], values[missing] = new_logits, new_values
            if len(cache) + len(missing) > capacity:
                cache.clear()
            for i in missing:
                cache[keys[i]] = (logits[i].copy(), float(values[i]))
        return logits, values

    return evaluate_with_cache


class SearchAgent:
    """A network searched by ``BatchedMCTS`` (``params.simulations == 0``: its policy alone).

    Each call searches all the given positions together from fresh roots
    (``search.states.search_chunks``) and plays the readout's move: the most visited one,
    Gumbel's own choice, or the learned readout's. Settings:

    - ``params``: the arm, the budget (``simulations``) and the constants;
    - ``learned``: the learned arm's weights (``LearnedWeights``; a part that is None falls
      back to PUCT's selection or the visit readout);
    - ``noise``: root noise at every move (Dirichlet for PUCT, Gumbel's for Gumbel), drawn
      from the agent's random stream, which runs on from move to move until ``reset``;
    - ``cache_size``: evaluations remembered (default ``DEFAULT_CACHE_SIZE`` for the array
      games, none for chess; 0 for none);
    - ``seed``: seeds that random stream (noise only: without it the play is deterministic).
    """

    def __init__(self, game: Game | str, evaluate: EvaluateFn, params: SearchParams, *,
                 name: str = "net", seed: int = 0, cache_size: int | None = None,
                 learned: LearnedWeights | None = None, noise: bool = False) -> None:
        self.game = get_game(game) if isinstance(game, str) else game
        self.evaluate = evaluate  # the plain evaluator, without the cache
        self.params = params
        self.learned = learned
        self.noise = noise
        self.name = name
        self._seed = seed
        if cache_size is None:
            cache_size = DEFAULT_CACHE_SIZE if is_array_game(self.game) else 0
        self._search_evaluate = cached_evaluate(evaluate, cache_size) if cache_size else evaluate
        self._mcts: BatchedMCTS | None = None

    @classmethod
    def from_setup(cls, setup: SearchSetup, *, name: str = "net", seed: int = 0,
                   cache_size: int | None = None, noise: bool = False) -> SearchAgent:
        """From a ``SearchSetup`` (``alphazero.searcher``): its game, network, search
        parameters and learned weights; the engine of ``alphazero play`` is built the same
        way (``SearchEngine.from_setup``)."""
        return cls(setup.game, setup.evaluate, setup.params, name=name, seed=seed,
                   cache_size=cache_size, learned=setup.learned, noise=noise)

    @classmethod
    def from_model(cls, game: Game | str, model: Any, params: SearchParams, *,
                   name: str = "net", seed: int = 0, num_threads: int | None = 1,
                   device: Any = None, backend: str = "auto",
                   learned: LearnedWeights | None = None) -> SearchAgent:
        """From a ``PolicyValueNet`` (its weights are frozen into the evaluator now), run by
        ``backend`` (``nets.backends``; on a GPU ``device`` it is torch)."""
        from nets.loader import model_evaluate

        game = get_game(game) if isinstance(game, str) else game
        evaluate = model_evaluate(model, backend=backend, device=device,
                                  num_threads=num_threads, game=game)
        return cls(game, evaluate, params, name=name, seed=seed, learned=learned)

    @classmethod
    def from_checkpoint(cls, game: Game | str, path: str | Path, params: SearchParams, *,
                        name: str | None = None, seed: int = 0,
                        num_threads: int | None = 1, backend: str = "auto",
                        learned: LearnedWeights | None = None) -> SearchAgent:
        """Load ``path`` (CheckpointError if missing, corrupt or for another game)."""
        game = get_game(game) if isinstance(game, str) else game
        evaluate, _ = resolve_evaluate(game, None, path, backend=backend,
                                       num_threads=num_threads)
        return cls(game, evaluate, params, name=name or str(path), seed=seed, learned=learned)

    def reset(self) -> None:
        self._mcts = None

    def select_moves(self, states: list) -> list[int]:
        if not states:
            return []
        if self._mcts is None or self._mcts.batch_size < len(states):
            self._mcts = BatchedMCTS(self.game, self._search_evaluate, self.params,
                                     batch_size=len(states), seed=self._seed,
                                     learned=self.learned)
        result = search_chunks(self._mcts, states, add_noise=self.noise)
        return [int(a) for a in result.action]
