"""The policy-value network: its config, torch and numpy forms, checkpoints and the loader.

The network reaches the search only as ``evaluate(observations[B, C, H, W], legal_masks[B, A])
-> (logits[B, A], values[B])``: ``make_evaluate_fn`` builds it from a torch
``PolicyValueNet``, ``make_numpy_evaluate_fn`` from a ``NumpyPolicyValueNet`` (no torch),
``nets.onnx_net`` from an ONNX graph built from the weights (ONNX Runtime, the fastest on CPU),
``resolve_evaluate`` picks the checkpoint (explicit, shipped or fresh) and the backend
(``nets.backends``); ``LiveNetwork`` runs weights that change (self-play workers).

Importing this package does not import torch: the names backed by torch load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nets.backends import BACKENDS, BackendError, LiveNetwork, pick_backend
from nets.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    UnsupportedCheckpointError,
    load_checkpoint,
    read_checkpoint_arrays,
    save_checkpoint,
)
from nets.config import NetworkConfig
from nets.lazy import lazy_attributes
from nets.loader import (
    model_evaluate,
    new_model,
    resolve_evaluate,
    resolve_learned,
    resolve_model,
    shipped_checkpoint,
    shipped_learned_weights,
)
from nets.numpy_net import NumpyPolicyValueNet, load_numpy_model, make_numpy_evaluate_fn

if TYPE_CHECKING:
    from nets.search_weights import LearnedSearch, ScoreNet
    from nets.torch_net import PolicyValueNet, load_model, make_evaluate_fn, select_device
    from nets.weights import load_numpy_weights, numpy_weights

# Names whose modules import torch at their top, loaded on first access (PEP 562). Importing
# torch takes about two seconds, and `alphazero analyse`, `play` and `uci` import this package
# but run the network in numpy: an eager import here would make each of them start that much
# slower (tests/alphazero/test_startup.py checks that analyse never imports torch).
_TORCH_NAMES = {
    "PolicyValueNet": "nets.torch_net",
    "load_model": "nets.torch_net",
    "make_evaluate_fn": "nets.torch_net",
    "select_device": "nets.torch_net",
    "LearnedSearch": "nets.search_weights",
    "ScoreNet": "nets.search_weights",
    "numpy_weights": "nets.weights",
    "load_numpy_weights": "nets.weights",
}
__getattr__, __dir__ = lazy_attributes(globals(), _TORCH_NAMES)


__all__ = [
    "BACKENDS",
    "BackendError",
    "CheckpointError",
    "FORMAT_VERSION",
    "LearnedSearch",
    "LiveNetwork",
    "NetworkConfig",
    "NumpyPolicyValueNet",
    "PolicyValueNet",
    "ScoreNet",
    "UnsupportedCheckpointError",
    "load_checkpoint",
    "load_model",
    "load_numpy_model",
    "load_numpy_weights",
    "make_evaluate_fn",
    "make_numpy_evaluate_fn",
    "model_evaluate",
    "new_model",
    "numpy_weights",
    "pick_backend",
    "read_checkpoint_arrays",
    "resolve_evaluate",
    "resolve_learned",
    "resolve_model",
    "save_checkpoint",
    "select_device",
    "shipped_checkpoint",
    "shipped_learned_weights",
]
