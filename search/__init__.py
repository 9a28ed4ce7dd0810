"""Batched Monte Carlo tree search in Numba: PUCT, Gumbel AlphaZero and a learned rule.

``BatchedMCTS`` searches B positions at once and calls the network once per simulation step
for all of them. The network reaches the search only as ``evaluate(observations, legal_masks)
-> (logits, values)`` (``EvaluateFn``); this package imports neither torch nor Ray.
"""

from search.gumbel import considered_visit_sequence
from search.learned import (
    READOUT_FEATURES,
    SELECTION_FEATURES,
    Decisions,
    LearnedWeights,
    readout_features,
)
from search.mcts import BatchedMCTS, EvaluateFn, SearchResult, uniform_evaluate
from search.params import ARMS, SearchParams
from search.states import StatesResult, search_chunks, search_states
from search.tree import NO_CHILD, TreeView

__all__ = [
    "ARMS",
    "BatchedMCTS",
    "Decisions",
    "EvaluateFn",
    "LearnedWeights",
    "NO_CHILD",
    "READOUT_FEATURES",
    "SELECTION_FEATURES",
    "SearchParams",
    "SearchResult",
    "StatesResult",
    "TreeView",
    "considered_visit_sequence",
    "readout_features",
    "search_chunks",
    "search_states",
    "uniform_evaluate",
]
