"""Finding the network to use: an explicit checkpoint, the shipped one, or a fresh one.

`resolve_evaluate` gives the search's `evaluate` for the command-line tools: by default it runs
the network in numpy (`nets.numpy_net`), which starts about two seconds sooner because it
never imports torch, and falls back to torch for a file only torch can read. torch is imported
inside the functions that need it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nets.config import NetworkConfig
from games.base import Game

if TYPE_CHECKING:
    from nets.torch_net import PolicyValueNet
    from search import EvaluateFn
    from search.learned import LearnedWeights

SHIPPED_DIR = Path(__file__).resolve().parent / "checkpoints"
BACKENDS = ("auto", "numpy", "torch")
"""How `resolve_evaluate` runs the network: "auto" (numpy when it can read the file, moving to
torch for long runs of large batches, else torch), numpy only, or torch only."""
LARGE_BATCH = 32
"""Network calls with more positions than this are where torch ran about 2x faster than numpy
(Connect Four and chess nets, one thread)."""
SWITCH_AFTER_POSITIONS = 20_000
"""With backend "auto": positions evaluated in large calls after which numpy hands over to torch.
That is 5-10 s of Connect Four work (more for chess): by then torch's import (~2 s) and trace
(~1 s) pay for themselves. The count, not a clock, decides, so a run is repeatable."""


def shipped_checkpoint(game_name: str) -> Path | None:
    """The checkpoint shipped in the package for ``game_name``, if there is one."""
    path = SHIPPED_DIR / f"{game_name}.pt"
    return path if path.is_file() else None


def resolve_model(game: Game, network: NetworkConfig, checkpoint: str | None = None, *,
                  seed: int = 0) -> tuple[PolicyValueNet, str]:
    """(model in eval mode, a sentence saying where it came from).

    Raises ``nets.checkpoint.CheckpointError`` for a missing, corrupt or mismatched file.
    """
    import torch

    from nets.checkpoint import load_model
    from nets.torch_net import PolicyValueNet

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


def resolve_evaluate(game: Game, network: NetworkConfig, checkpoint: str | None = None, *,
                     backend: str = "auto", num_threads: int | None = 1, seed: int = 0
                     ) -> tuple[EvaluateFn, str]:
    """(the search's evaluate, a sentence saying where the network came from and what runs it).

    ``backend`` is one of BACKENDS. With "auto", a checkpoint the torch-free reader cannot
    read, or no checkpoint at all (a fresh network is initialised by torch), goes to torch.
    ``num_threads`` is torch's thread count. Raises ``CheckpointError`` like `resolve_model`.
    """
    from nets.checkpoint import UnsupportedCheckpointError

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    path = checkpoint if checkpoint is not None else shipped_checkpoint(game.name)
    reason = "no checkpoint to read"
    if backend != "torch" and path is not None:
        from nets.numpy_net import load_numpy_model, make_numpy_evaluate_fn

        try:
            net, loaded = load_numpy_model(path, expected_game=game.name)
            state = loaded["model"]
        except UnsupportedCheckpointError as err:
            if backend == "numpy":
                raise
            reason = str(err)
        else:
            where = (f"checkpoint {path}" if checkpoint is not None
                     else f"the shipped {game.name} checkpoint {path}")
            evaluate = make_numpy_evaluate_fn(net)
            if backend == "numpy":
                return evaluate, f"using {where} (numpy)"
            return (_NumpyThenTorch(evaluate, net, state, num_threads),
                    f"using {where} (numpy; torch for long runs of large batches)")
    from nets.torch_net import make_evaluate_fn

    model, source = resolve_model(game, network, checkpoint, seed=seed)
    if backend == "numpy":  # a fresh network: torch initialises it, numpy runs it
        from nets.numpy_net import NumpyPolicyValueNet, make_numpy_evaluate_fn

        state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        net = NumpyPolicyValueNet(network, game.observation_shape, game.num_actions, state)
        return make_numpy_evaluate_fn(net), f"{source} (numpy)"
    note = "" if backend == "torch" else f"; {reason}"
    return make_evaluate_fn(model, num_threads=num_threads), f"{source} (torch{note})"


class _NumpyThenTorch:
    """The search's evaluate: numpy (fast to start), then torch once SWITCH_AFTER_POSITIONS
    positions have gone through calls of more than LARGE_BATCH, where torch is faster."""

    def __init__(self, numpy_evaluate: EvaluateFn, net, state, num_threads: int | None):
        self._numpy_evaluate, self._net, self._state = numpy_evaluate, net, state
        self._num_threads = num_threads
        self._torch_evaluate: EvaluateFn | None = None
        self.large_positions = 0  # positions evaluated in numpy calls over LARGE_BATCH

    @property
    def backend(self) -> str:
        return "numpy" if self._torch_evaluate is None else "torch"

    def __call__(self, observations, legal_masks):
        if self._torch_evaluate is None:
            if len(observations) > LARGE_BATCH:
                self.large_positions += len(observations)
            if self.large_positions < SWITCH_AFTER_POSITIONS:
                return self._numpy_evaluate(observations, legal_masks)
            self._torch_evaluate = self._make_torch_evaluate()
        return self._torch_evaluate(observations, legal_masks)

    def _make_torch_evaluate(self) -> EvaluateFn:
        import torch

        from nets.torch_net import PolicyValueNet, make_evaluate_fn

        net = self._net
        model = PolicyValueNet(net.config, net.observation_shape, net.num_actions)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in self._state.items()})
        return make_evaluate_fn(model.eval(), num_threads=self._num_threads)


def resolve_learned(game: Game, params) -> LearnedWeights | None:
    """The learned search's weights when ``params.arm == "learned"``, else None.

    Takes ``params.learned_weights`` or the file shipped for the game; raises
    ``CheckpointError`` with a clear message when there is none.
    """
    if params.arm != "learned":
        return None
    from nets.checkpoint import CheckpointError
    from nets.search_weights import LearnedSearch

    path = params.learned_weights or SHIPPED_DIR / f"{game.name}_search.pt"
    if not Path(path).is_file():
        raise CheckpointError(
            f"no learned search weights for {game.name} ({path}): train them with "
            f"'alphazero train-search {game.name} --checkpoint NET.pt' and pass "
            f"--set search.learned_weights=PATH")
    return LearnedSearch.load(path, expected_game=game.name).weights()
