"""The single-game searcher shared by ``alphazero play`` and the UCI engine.

``SearchEngine`` keeps one search tree over a game being played: it searches the current
position (more simulations add to the same tree), reads out the move, value and principal
variation, and moves its root along the moves played so the subtree is reused. One tree sends
``leaves_per_step`` leaves per network call (kept apart by virtual loss) so a single game still
batches its evaluations.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from games.base import Game
from search import BatchedMCTS, EvaluateFn, SearchParams

if TYPE_CHECKING:
    from alphazero.searcher import SearchSetup

PLAY_LEAVES_PER_STEP = (8, 16)  # bounds on leaves per network call for a single tree


@dataclass(frozen=True)
class Analysis:
    """A search's answer for the root position, from the side to move's point of view."""

    action: int  # best action, -1 when the position is over
    value: float  # root mean value in [-1, 1]
    network_value: float  # the network's own value of the root
    pv: list[int]  # principal variation (actions), starting with ``action``
    simulations: int  # simulations in the root's tree (including reused ones)

    @property
    def win_probability(self) -> float:
        """Expected score for the side to move (a draw counts half), in [0, 1]."""
        return (self.value + 1.0) / 2.0


class SearchEngine:
    """One search tree over one game, reused from move to move.

    Args:
      game, evaluate, params: as for ``BatchedMCTS``; ``params.leaves_per_step`` is raised to
        at least 8 (at most 16) so a single tree fills a network batch.
      learned: weights of the learned arm (``search.LearnedWeights``).
    """

    def __init__(self, game: Game, evaluate: EvaluateFn, params: SearchParams, *, seed: int = 0,
                 learned: Any = None):
        low, high = PLAY_LEAVES_PER_STEP
        k = min(high, max(low, params.leaves_per_step))
        self.params = dataclasses.replace(params, leaves_per_step=k)
        self.game = game
        self.mcts = BatchedMCTS(game, evaluate, self.params, batch_size=1, seed=seed,
                                learned=learned)
        self.state: Any = None

    @classmethod
    def from_setup(cls, setup: SearchSetup, *, seed: int = 0) -> SearchEngine:
        """From a ``SearchSetup`` (``alphazero.searcher``), as ``SearchAgent.from_setup``."""
        return cls(setup.game, setup.evaluate, setup.params, seed=seed, learned=setup.learned)

    @property
    def chunked(self) -> bool:
        """Whether repeated ``search`` calls add to one tree (not Gumbel: it restarts)."""
        return self.params.arm != "gumbel"

    def set_position(self, state: Any, *, allowed: Any = None) -> None:
        """Search ``state`` from now on, with a fresh tree; ``allowed`` (bool[A]) restricts its
        root to those moves (``BatchedMCTS.set_roots``) until a move is played."""
        self.state = state
        self.mcts.set_roots([state], allowed=None if allowed is None else [allowed])

    @property
    def restricted(self) -> bool:
        """Whether the current root searches only some of its moves."""
        return self.mcts.root_allowed[0] is not None

    def play(self, action: int) -> Any:
        """Play ``action`` from the current position, keeping its subtree; the new state."""
        next_state = self.game.apply(self.state, int(action))
        self.mcts.advance(0, int(action), next_state)
        self.state = next_state
        return next_state

    def search(self, simulations: int) -> Analysis:
        """Add ``simulations`` simulations to the tree and read out the answer."""
        if self.state is None:
            raise ValueError("no position set: call set_position first")
        result = self.mcts.run(simulations=max(0, int(simulations)))
        action = int(result.action[0])
        pv = self.mcts.principal_variation(0, first_action=action) if action >= 0 else []
        return Analysis(action=action, value=float(result.value[0]),
                        network_value=float(result.network_value[0]), pv=pv,
                        simulations=int(result.visits[0].sum()))

    def search_for(self, seconds: float, *, max_simulations: int | None = None,
                   chunk: int = 32) -> Analysis:
        """Search until ``seconds`` have passed (checked between chunks of simulations, and
        never starting a chunk that would overrun at the measured speed) or
        ``max_simulations`` new ones are done; at least one chunk runs."""
        start = time.perf_counter()
        done = 0
        analysis = None
        while analysis is None or self.chunked:
            size = chunk if max_simulations is None else min(chunk, max_simulations - done)
            if size <= 0:
                break
            analysis = self.search(size)
            done += size
            elapsed = time.perf_counter() - start
            if elapsed + elapsed / done * chunk > seconds:
                break
        return analysis

    def root_visits(self) -> int:
        """Simulations already in the current root's tree."""
        tree = self.mcts.tree
        return int(tree.visits[0, 0]) if tree.num_nodes[0] > 0 else 0
