"""Batched Monte Carlo tree search in Numba: PUCT, Gumbel AlphaZero and a learned rule.

The network reaches the search only as ``evaluate(observations, legal_masks) -> (logits,
values)``; this package imports neither torch nor Ray.
"""

from search.gumbel import considered_visit_sequence
from search.mcts import BatchedMCTS, EvaluateFn, SearchResult, uniform_evaluate
from search.params import ARMS, SearchParams
from search.tree import TreeView

__all__ = ["ARMS", "BatchedMCTS", "EvaluateFn", "SearchParams", "SearchResult",
           "TreeView", "considered_visit_sequence", "uniform_evaluate"]
