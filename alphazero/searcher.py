"""What every command that searches with a network builds first, built one way.

``search_setup`` turns a game's config, and a command's ``--checkpoint``, ``--search``,
``--sims`` and ``--threads``, into a ``SearchSetup``: the search parameters, the network's
``evaluate`` from the one loader (``nets.loader``), the learned search's weights when the arm
needs them, and the sentence saying which network runs and how. Both searchers are built
from it, with ``from_setup``: ``alphazero.play.engine.SearchEngine`` (one game, its tree kept
from move to move: ``alphazero play`` and the UCI engine) and
``alphazero.eval.search_agent.SearchAgent`` (a batch of games, fresh trees every move:
``alphazero match``); ``alphazero analyse`` uses its parts directly. This module imports
neither class, so both may import it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from games.base import Game
from nets.config import NetworkConfig
from nets.loader import resolve_evaluate, resolve_learned
from search import EvaluateFn, SearchParams
from search.learned import LearnedWeights


@dataclass(frozen=True)
class SearchSetup:
    """A game's network and search settings, ready to search with."""

    game: Game
    evaluate: EvaluateFn
    params: SearchParams
    learned: LearnedWeights | None
    """The learned arm's weights (None for the other arms)."""
    source: str
    """Which network, and what runs it (numpy or torch), in a sentence."""
    checkpoint: str | Path | None = None
    """The ``checkpoint`` it was built from (None: the shipped network or a fresh one)."""

    def with_arm(self, arm: str) -> SearchSetup:
        """The same network searched with ``arm``; ``CheckpointError`` when ``arm`` is
        learned and there are no weights for it."""
        params = dataclasses.replace(self.params, arm=arm)
        return dataclasses.replace(self, params=params, learned=resolve_learned(
            self.game, params, checkpoint=self.checkpoint))


def search_setup(game: Game, network: NetworkConfig, search: SearchParams, *,
                 checkpoint: str | Path | None = None, arm: str | None = None,
                 simulations: int | None = None, backend: str = "auto",
                 num_threads: int | None = 1, seed: int = 0) -> SearchSetup:
    """``search`` with ``arm`` and ``simulations`` if given; the network of ``checkpoint``
    (None: the shipped one, else a fresh ``network`` seeded by ``seed``) run by ``backend``
    (``nets.loader.resolve_evaluate``); the learned weights if the arm is learned
    (``nets.loader.resolve_learned``). Raises ``CheckpointError`` for a missing or bad file."""
    params = search if arm is None else dataclasses.replace(search, arm=arm)
    if simulations is not None:
        params = dataclasses.replace(params, simulations=simulations)
    evaluate, source = resolve_evaluate(game, network, checkpoint, backend=backend,
                                        num_threads=num_threads, seed=seed)
    return SearchSetup(game, evaluate, params,
                       resolve_learned(game, params, checkpoint=checkpoint), source, checkpoint)
