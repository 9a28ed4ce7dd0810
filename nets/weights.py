"""Network weights as plain numpy dicts: the form in which they cross actor boundaries."""

from __future__ import annotations

import numpy as np
import torch


def numpy_weights(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The model's state dict as numpy copies."""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def load_numpy_weights(model: torch.nn.Module, weights: dict[str, np.ndarray]) -> None:
    """Load a dict from ``numpy_weights`` (arrays from Ray's object store are read-only)."""
    model.load_state_dict({k: torch.as_tensor(np.array(v)) for k, v in weights.items()})
