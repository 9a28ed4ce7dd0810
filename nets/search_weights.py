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
    BACKUP_SIZE,
    HIDDEN,
    NUM_READOUT_FEATURES,
    NUM_SELECTION_FEATURES,
    READOUT_FEATURES,
    SELECTION_FEATURES,
    TARGET_START,
    LearnedWeights,
    completed_q,
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


class TargetMap(nn.Module):
    """The learned policy-improvement target (``search.learned.improved_policy``) in torch:
    lam, beta, gamma, delta, starting at the visit shares (lam = 0). lam is kept in [0, 1]."""

    def __init__(self):
        super().__init__()
        self.params = nn.Parameter(torch.tensor(TARGET_START, dtype=torch.float32))

    def forward(self, visits, prior, q, root_value) -> tuple[torch.Tensor, torch.Tensor]:
        """(target, its softmax part), float[P, A] each, of P roots (numpy arrays of
        ``SearchResult`` fields). Training fits both: the softmax part learns even while lam
        is 0, and lam learns how far to trust it."""
        legal = torch.as_tensor(prior > 0)
        n = torch.as_tensor(visits, dtype=torch.float32)
        cq = torch.as_tensor(completed_q(visits, q, root_value), dtype=torch.float32)
        log_prior = torch.log(torch.as_tensor(np.where(prior > 0, prior, 1.0),
                                              dtype=torch.float32))
        lam = self.params[0].clamp(0.0, 1.0)
        beta, gamma, delta = self.params[1], self.params[2], self.params[3]
        logits = (beta * log_prior + gamma * cq + delta * torch.log1p(n)).masked_fill(~legal,
                                                                                 -1e9)
        mixed = torch.softmax(logits, dim=-1)
        total = n.sum(-1, keepdim=True)
        shares = torch.where(total > 0, n / total.clamp_min(1.0), mixed)
        return (1.0 - lam) * shares + lam * mixed, mixed

    def project(self) -> None:
        """Keep lam in [0, 1] after an optimiser step (so it can sit at exactly 0)."""
        with torch.no_grad():
            self.params[0].clamp_(0.0, 1.0)

    def export(self) -> np.ndarray:
        out = self.params.detach().double().cpu().numpy().copy()
        out[0] = min(max(out[0], 0.0), 1.0)
        return out


@dataclass
class LearnedSearch:
    """The search's learned parts (selection, readout and the training target) and what they
    were trained for."""

    selection: ScoreNet
    readout: ScoreNet
    meta: dict
    target: TargetMap | None = None
    """None: the search's own policy is the training target (files from before the map)."""
    backup: np.ndarray | None = None
    """float64[BACKUP_SIZE], the learned backup's weights (``search.kernels.backup_mix``;
    trained without gradients, ``alphazero.learned.backup``); None: the mean backup."""

    @classmethod
    def fresh(cls, seed: int = 0, **meta) -> "LearnedSearch":
        torch.manual_seed(seed)
        return cls(ScoreNet(NUM_SELECTION_FEATURES), ScoreNet(NUM_READOUT_FEATURES), dict(meta),
                   TargetMap())

    def modules(self) -> list[nn.Module]:
        return [m for m in (self.selection, self.readout, self.target) if m is not None]

    def weights(self) -> LearnedWeights:
        target = self.target.export() if self.target is not None else None
        return LearnedWeights(self.selection.export(), self.readout.export(), target,
                              self.backup)

    def state_dict(self) -> dict:
        """The modules' tensors (``load_state_dict``; checkpoints of tandem training)."""
        out = {"selection": self.selection.state_dict(), "readout": self.readout.state_dict()}
        if self.target is not None:
            out["target"] = self.target.state_dict()
        if self.backup is not None:
            out["backup"] = torch.as_tensor(np.asarray(self.backup, dtype=np.float64))
        return out

    def load_state_dict(self, state: dict) -> None:
        self.selection.load_state_dict(state["selection"])
        self.readout.load_state_dict(state["readout"])
        if "target" in state:
            self.target = self.target or TargetMap()
            self.target.load_state_dict(state["target"])
        if "backup" in state:
            backup = np.asarray(state["backup"], dtype=np.float64).ravel()
            if backup.size != BACKUP_SIZE:
                raise RuntimeError(f"backup holds {backup.size} values, not {BACKUP_SIZE}")
            self.backup = backup.copy()

    def save(self, path: str | Path) -> None:
        atomic_torch_save(path, {"format": FORMAT, **self.state_dict(), "meta": self.meta,
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
        try:
            learned.load_state_dict(data)
        except (KeyError, RuntimeError, TypeError) as err:  # missing or misshapen tensors
            raise CheckpointError(f"learned search weights {path} do not fit the learned "
                                  f"search's networks: {str(err).splitlines()[0]}") from None
        finite = all(torch.isfinite(p).all() for m in learned.modules() for p in m.parameters())
        if not finite or (learned.backup is not None and not np.isfinite(learned.backup).all()):
            raise CheckpointError(f"learned search weights {path} hold NaN or infinite values")
        return learned
