"""Training the learned search: the selection and readout networks of ``search``'s learned
rule, trained on the cost of the move a search plays (``alphazero train-search``).

``train_learned_search`` returns a ``nets.LearnedSearch``; its ``weights()`` go to
``BatchedMCTS(..., learned=...)`` with ``SearchParams(arm="learned")``. Training runs in
torch, so its functions load on first use; its config (``TrainSearchConfig``, ``METHODS``)
lives in ``alphazero.config``, like every config.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from alphazero.config import METHODS, TrainSearchConfig

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "METHODS",
    "TrainSearchConfig",
    "search_cost",
    "search_costs",
    "solver_costs",
    "train_learned_search",
]
