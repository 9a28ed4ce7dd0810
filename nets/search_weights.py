"""The learned search's weights in torch: the score networks and their file format.

``ScoreNet`` is the torch twin of the small MLP that ``search.learned`` runs inside the Numba
descent (``export`` gives its flat layout); ``LearnedSearch`` holds the selection and readout
networks and reads and writes the ``.pt`` file that ``alphazero train-search`` makes and
``--set search.learned_weights=PATH`` names. Training lives in ``alphazero.learned``.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nets.checkpoint import CheckpointError, atomic_torch_save, unpickling_reason
from search.learned import (
    HIDDEN,
    NUM_READOUT_FEATURES,
    NUM_SELECTION_FEATURES,
    READOUT_FEATURES,
    SELECTION_FEATURES,
    LearnedWeights,
)

FORMAT = "alphazero-learned-search-1"


class ScoreNet(nn.Module):
    """in -> tanh(HIDDEN) -> tanh(HIDDEN) -> 1, the last layer zero so it starts at 0."""

    def __init__(self, num_inputs: int, hidden: int = HIDDEN):
        super().__init__()
        self.l1 = nn.Linear(num_inputs, hidden)
        self.l2 = nn.Linear(hidden, hidden)
        self.l3 = nn.Linear(hidden, 1)
        nn.init.zeros_(self.l3.weight)
        nn.init.zeros_(self.l3.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [..., in] -> [...]."""
        return self.l3(torch.tanh(self.l2(torch.tanh(self.l1(x))))).squeeze(-1)

    def export(self) -> np.ndarray:
        """The flat float64 layout of ``search.learned.mlp_forward``."""
        parts = [self.l1.weight.T, self.l1.bias, self.l2.weight.T, self.l2.bias,
                 self.l3.weight[0], self.l3.bias]
        return np.concatenate([p.detach().double().cpu().numpy().ravel() for p in parts])


@dataclass
class LearnedSearch:
    """The pair of networks and what they were trained for."""

    selection: ScoreNet
    readout: ScoreNet
    meta: dict

    @classmethod
    def fresh(cls, seed: int = 0, **meta) -> "LearnedSearch":
        torch.manual_seed(seed)
        return cls(ScoreNet(NUM_SELECTION_FEATURES), ScoreNet(NUM_READOUT_FEATURES), dict(meta))

    def weights(self) -> LearnedWeights:
        return LearnedWeights(self.selection.export(), self.readout.export())

    def save(self, path: str | Path) -> None:
        atomic_torch_save(path, {"format": FORMAT, "selection": self.selection.state_dict(),
                                 "readout": self.readout.state_dict(), "meta": self.meta,
                                 "selection_features": list(SELECTION_FEATURES),
                                 "readout_features": list(READOUT_FEATURES)})

    @classmethod
    def load(cls, path: str | Path, *, expected_game: str | None = None) -> "LearnedSearch":
        """Read ``save``'s file; ``CheckpointError`` if it is missing, corrupt, trained on
        other features, or (with ``expected_game``) trained for another game."""
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"learned search weights not found: {path}")
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:  # weights_only refused a global
            raise CheckpointError(f"learned search weights {path} are corrupt or hold objects "
                                  f"weights_only loading refuses: {unpickling_reason(err)}"
                                  ) from None
        except Exception as err:  # torch raises several types for truncated files
            raise CheckpointError(f"learned search weights {path} are truncated or corrupt: "
                                  f"{type(err).__name__}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CheckpointError(f"{path} is not a learned-search file ({FORMAT})")
        if data["selection_features"] != list(SELECTION_FEATURES):
            raise CheckpointError(f"{path} was trained on other features; train it again")
        trained_for = data["meta"].get("game")
        if expected_game is not None and trained_for not in (None, expected_game):
            raise CheckpointError(f"learned search weights {path} were trained for "
                                  f"{trained_for}, not {expected_game}")
        learned = cls(ScoreNet(NUM_SELECTION_FEATURES), ScoreNet(NUM_READOUT_FEATURES),
                      data["meta"])
        learned.selection.load_state_dict(data["selection"])
        learned.readout.load_state_dict(data["readout"])
        return learned
