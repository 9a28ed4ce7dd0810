"""Training the learned search: the selection and readout networks of ``search``'s learned
rule, trained on the cost of the move a search plays (``alphazero train-search``).

``train_learned_search`` returns a ``nets.LearnedSearch``; its ``weights()`` go to
``BatchedMCTS(..., learned=...)`` with ``SearchParams(arm="learned")``. Training runs in
torch, so its functions load on first use; its config (``TrainSearchConfig``, ``METHODS``)
lives in ``alphazero.config``, like every config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphazero.config import METHODS, TrainSearchConfig
from nets.lazy import lazy_attributes

if TYPE_CHECKING:
    from alphazero.learned.positions import own_play_positions
    from alphazero.learned.training import (
        search_cost,
        search_costs,
        solver_costs,
        train_learned_search,
    )

# alphazero.learned.training imports torch at its top (about 2 s); its names load on first
# access (PEP 562), as in the other packages, so that importing this one costs nothing.
_LAZY = {name: "alphazero.learned.training" for name in (
    "search_cost", "search_costs", "solver_costs", "train_learned_search")}
_LAZY["own_play_positions"] = "alphazero.learned.positions"
__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)


__all__ = [
    "METHODS",
    "TrainSearchConfig",
    "own_play_positions",
    "search_cost",
    "search_costs",
    "solver_costs",
    "train_learned_search",
]
