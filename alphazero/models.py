"""Finding the network to use: an explicit checkpoint, the shipped one, or a fresh one."""

from __future__ import annotations

from pathlib import Path

import torch

from alphazero.checkpoint import load_model
from alphazero.network import NetworkConfig, PolicyValueNet
from games.base import Game

SHIPPED_DIR = Path(__file__).resolve().parent / "checkpoints"


def shipped_checkpoint(game_name: str) -> Path | None:
    """The checkpoint shipped in the package for ``game_name``, if there is one."""
    path = SHIPPED_DIR / f"{game_name}.pt"
    return path if path.is_file() else None


def resolve_model(game: Game, network: NetworkConfig, checkpoint: str | None = None, *,
                  seed: int = 0) -> tuple[PolicyValueNet, str]:
    """(model in eval mode, a sentence saying where it came from).

    Raises ``alphazero.checkpoint.CheckpointError`` for a missing, corrupt or mismatched file.
    """
    if checkpoint is None:
        shipped = shipped_checkpoint(game.name)
        if shipped is not None:
            model, _ = load_model(shipped, expected_game=game.name)
            return model, f"using the shipped {game.name} checkpoint {shipped}"
        torch.manual_seed(seed)
        model = PolicyValueNet(network, game.observation_shape, game.num_actions).eval()
        return model, (f"no checkpoint shipped for {game.name}: using a freshly initialised "
                       f"network ({network.blocks} blocks x {network.channels} channels)")
    model, _ = load_model(checkpoint, expected_game=game.name)
    return model, f"using checkpoint {checkpoint}"


def resolve_learned(game: Game, params) -> "LearnedWeights | None":
    """The learned search's weights when ``params.arm == "learned"``, else None.

    Takes ``params.learned_weights`` or the file shipped for the game; raises
    ``CheckpointError`` with a clear message when there is none.
    """
    if params.arm != "learned":
        return None
    from alphazero.checkpoint import CheckpointError
    from alphazero.learned_search import LearnedSearch

    path = params.learned_weights or SHIPPED_DIR / f"{game.name}_search.pt"
    if not Path(path).is_file():
        raise CheckpointError(
            f"no learned search weights for {game.name} ({path}): train them with "
            f"'alphazero train-search {game.name} --checkpoint NET.pt' and pass "
            f"--set search.learned_weights=PATH")
    return LearnedSearch.load(path).weights()
