"""The one network loader: a checkpoint file, the shipped one, or a fresh network, as a torch
model (`resolve_model`) or as the search's evaluate (`resolve_evaluate`); the learned search's
weights (`resolve_learned`); and a model from the numpy weights that cross Ray (`new_model`).

Every part of the project that needs a network comes here: analyse, play and uci, the agents
and the evaluation ladder, the self-play actors and the inference server, the ablation,
``train-search`` and pretraining's ``--init``. The file readers below it are building blocks:
``nets.torch_net.load_model`` (torch) and ``nets.numpy_net.load_numpy_model`` (numpy).

`resolve_evaluate` runs the network in ONNX Runtime by default (`nets.onnx_net`; numpy when
it is not installed), which also starts about two seconds sooner than torch because it never
imports it, and falls back to torch for a file only torch can read. torch is imported inside
the functions that need it for that reason: analyse, play and uci start without it
(tests/alphazero/test_startup.py). The backends: ``nets.backends``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from games.base import Game
from nets.backends import LiveNetwork, onnx_available, pick_backend, playout_observations
from nets.checkpoint import CheckpointError, UnsupportedCheckpointError
from nets.config import NetworkConfig
from nets.numpy_net import NumpyPolicyValueNet, make_numpy_evaluate_fn
from search import EvaluateFn, SearchParams
from search.learned import LearnedWeights

if TYPE_CHECKING:  # torch-backed types; their modules import torch
    from nets.torch_net import PolicyValueNet

logger = logging.getLogger(__name__)
SHIPPED_DIR = Path(__file__).resolve().parent / "checkpoints"
LARGE_BATCH = 32
"""Network calls with more positions than this are where torch ran about 2x faster than numpy
(Connect Four and chess nets, one thread)."""
SWITCH_AFTER_POSITIONS = 20_000
"""With backend "auto" and no ONNX Runtime: positions evaluated in large calls after which numpy
hands over to torch.
That is 5-10 s of Connect Four work (more for chess): by then torch's import (~2 s) and trace
(~1 s) pay for themselves. The count, not a clock, decides, so a run is repeatable."""


# --------------------------------------------------------------------------- sources
SHIPPED_NAMES = ("shipped",)
"""``--checkpoint`` words that name the file shipped for the game, as does the game's own name
(``--checkpoint connect4``), wherever the command runs; a file of that name wins."""


def names_shipped(checkpoint: str | Path, game_name: str) -> bool:
    """``checkpoint`` is a word for the file shipped for ``game_name`` ("shipped" or the game's
    name) rather than a path: a file of that name in the current directory wins."""
    return str(checkpoint) in SHIPPED_NAMES + (game_name,) and not Path(checkpoint).exists()


def shipped_checkpoint(game_name: str) -> Path | None:
    """The checkpoint shipped in the package for ``game_name``, if there is one."""
    path = SHIPPED_DIR / f"{game_name}.pt"
    return path if path.is_file() else None


def shipped_learned_weights(game_name: str) -> Path:
    """Where the learned search's weights for ``game_name`` are shipped (the file may not
    exist: ``resolve_learned`` says so)."""
    return SHIPPED_DIR / f"{game_name}_search.pt"


def _source(game: Game, network: NetworkConfig | None, checkpoint: str | Path | None,
            fresh: bool, seed: int) -> tuple[Path | str | None, str]:
    """(the file to read, or None for a fresh network; the sentence saying so)."""
    if fresh and checkpoint is not None:
        raise ValueError("give a checkpoint or fresh=True, not both")
    if checkpoint is not None and names_shipped(checkpoint, game.name):
        checkpoint = None  # "shipped" or the bare game name: the file shipped for the game
        if shipped_checkpoint(game.name) is None:
            raise CheckpointError(f"no checkpoint is shipped for {game.name}")
    if checkpoint is not None:
        return checkpoint, f"using checkpoint {checkpoint}"
    if not fresh:
        shipped = shipped_checkpoint(game.name)
        if shipped is not None:
            return shipped, f"using the shipped {game.name} checkpoint {shipped}"
    if network is None:
        raise ValueError("a fresh network needs its NetworkConfig")
    shape = f"{network.blocks} blocks x {network.channels} channels"
    if fresh:
        return None, f"using a freshly initialised network ({shape}, seed {seed})"
    return None, (f"no checkpoint shipped for {game.name}: using a freshly initialised "
                  f"network ({shape})")


# ---------------------------------------------------------------------------- models
def new_model(network: NetworkConfig, observation_shape: tuple[int, int, int],
              num_actions: int, *, seed: int | None = None,
              weights: Mapping[str, np.ndarray] | None = None) -> PolicyValueNet:
    """A ``PolicyValueNet`` in eval mode: initialised after ``torch.manual_seed(seed)`` (None:
    torch's RNG as it is), then given ``weights`` (numpy arrays, ``nets.weights``) if any."""
    import torch

    from nets.torch_net import PolicyValueNet
    from nets.weights import load_numpy_weights

    if seed is not None:
        torch.manual_seed(seed)
    model = PolicyValueNet(network, observation_shape, num_actions)
    if weights is not None:
        load_numpy_weights(model, dict(weights))
    return model.eval()


def resolve_model(game: Game, network: NetworkConfig | None = None,
                  checkpoint: str | Path | None = None, *, fresh: bool = False,
                  seed: int = 0) -> tuple[PolicyValueNet, str]:
    """(model in eval mode, a sentence saying where it came from).

    The network is ``checkpoint``; else (``checkpoint`` None) the one shipped for the game;
    else, or with ``fresh``, a fresh ``network`` initialised from ``seed``. Raises
    ``CheckpointError`` for a missing, corrupt or mismatched file.
    """
    from nets.torch_net import load_model

    path, source = _source(game, network, checkpoint, fresh, seed)
    if path is None:
        return new_model(network, game.observation_shape, game.num_actions, seed=seed), source
    model, _ = load_model(path, expected_game=game.name)
    _refuse_non_finite(path, {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})
    return model, source


def resolve_evaluate(game: Game, network: NetworkConfig | None = None,
                     checkpoint: str | Path | None = None, *, fresh: bool = False,
                     backend: str = "auto", num_threads: int | None = 1, seed: int = 0
                     ) -> tuple[EvaluateFn, str]:
    """(the search's evaluate, a sentence saying where the network came from and what runs it).

    The network is found as by `resolve_model`. ``backend`` is one of ``nets.backends.BACKENDS``:
    "auto" is ONNX Runtime when it is installed (else numpy, moving to torch for long runs of
    large batches), and torch for a checkpoint the torch-free reader cannot read. A fresh
    network is initialised by torch and then run by the backend. ``num_threads`` is the
    backend's intra-op thread count. Raises ``CheckpointError`` like `resolve_model`, and
    ``nets.backends.BackendError`` for a backend that cannot run here.
    """
    chosen = pick_backend(backend)
    path, source = _source(game, network, checkpoint, fresh, seed)
    legacy_auto = backend == "auto" and path is not None and not onnx_available()
    reason = "no checkpoint to read"
    if chosen != "torch" or legacy_auto:
        try:
            state, shape = _arrays(game, network, path, seed)
        except UnsupportedCheckpointError as err:
            if backend != "auto":
                raise
            reason = str(err)
        else:
            try:
                return _evaluate_of(chosen, legacy_auto, game, state, shape, source,
                                    num_threads)
            except (ValueError, TypeError, AttributeError) as e:
                raise CheckpointError(f"checkpoint {path} weights do not fit its network "
                                      f"config: {e}") from e
    from nets.torch_net import make_evaluate_fn

    model, source = resolve_model(game, network, checkpoint, fresh=fresh, seed=seed)
    note = "" if backend == "torch" else f"; {reason}"
    return make_evaluate_fn(model, num_threads=num_threads), f"{source} (torch{note})"


def model_evaluate(model: PolicyValueNet, *, backend: str = "auto", device: Any = None,
                   num_threads: int | None = 1, game: Game | None = None) -> EvaluateFn:
    """The search's evaluate of a torch ``model``'s current weights (a snapshot), run by
    ``backend`` (``nets.backends``): its weights are handed to ONNX Runtime or numpy on a CPU,
    else torch runs the model on ``device`` (default: its weights' device). onnx-int8 needs
    ``game`` for its calibration positions."""
    from nets.torch_net import make_evaluate_fn

    if device is None:
        device = next(model.parameters()).device
    chosen = pick_backend(backend, str(device))
    if chosen == "torch":
        return make_evaluate_fn(model, device, num_threads=num_threads)
    if chosen == "onnx-int8" and game is None:
        raise ValueError("backend onnx-int8 needs the game (its calibration positions)")
    state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    shape = (model.config, model.observation_shape, model.num_actions)
    return _evaluate_of(chosen, False, game, state, shape, "", num_threads)[0]


def _evaluate_of(backend: str, numpy_then_torch: bool, game: Game, state: dict[str, np.ndarray],
                 shape: tuple[NetworkConfig, tuple[int, int, int], int], source: str,
                 num_threads: int | None) -> tuple[EvaluateFn, str]:
    """The evaluate of ``state`` run by ``backend`` (onnx, onnx-int8 or numpy), or by numpy
    then torch; ValueError for weights that do not fit ``shape``."""
    if numpy_then_torch:
        net = NumpyPolicyValueNet(*shape, state)
        return (_NumpyThenTorch(make_numpy_evaluate_fn(net), net, state, num_threads),
                f"{source} (numpy; torch for long runs of large batches)")
    calibration = playout_observations(game) if backend == "onnx-int8" else None
    live = LiveNetwork(*shape, backend=backend, num_threads=num_threads, calibration=calibration)
    live.set_weights(state)  # the one place that builds a backend's network from arrays
    return live.evaluate, f"{source} ({backend})"


def _arrays(game: Game, network: NetworkConfig | None, path: Path | str | None, seed: int
            ) -> tuple[dict[str, np.ndarray], tuple[NetworkConfig, tuple[int, int, int], int]]:
    """(state dict as numpy arrays, (config, observation shape, num_actions)) of the file at
    ``path`` read without torch, or of a fresh ``network`` torch initialises from ``seed``."""
    from nets.checkpoint import network_shape, read_checkpoint_arrays

    if path is None:
        model = new_model(network, game.observation_shape, game.num_actions, seed=seed)
        state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        return state, (model.config, game.observation_shape, game.num_actions)
    checkpoint = read_checkpoint_arrays(path)
    shape = network_shape(path, checkpoint, game.name)
    _refuse_non_finite(path, checkpoint["model"])
    return checkpoint["model"], shape


def _refuse_non_finite(path: Path | str, state: Mapping[str, Any]) -> None:
    """CheckpointError for a network with a NaN or infinite weight: its every answer would be
    NaN (which strict JSON readers of ``analyse`` refuse) or meaningless."""
    for name, array in state.items():
        array = np.asarray(array)
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            raise CheckpointError(f"checkpoint {path} holds NaN or infinite weights (in "
                                  f"{name}): the run that wrote it diverged; use an earlier one")


class _NumpyThenTorch:
    """The search's evaluate: numpy (fast to start), then torch once SWITCH_AFTER_POSITIONS
    positions have gone through calls of more than LARGE_BATCH, where torch is faster."""

    def __init__(self, numpy_evaluate: EvaluateFn, net: NumpyPolicyValueNet,
                 state: Mapping[str, np.ndarray], num_threads: int | None):
        self._numpy_evaluate, self._net, self._state = numpy_evaluate, net, state
        self._num_threads = num_threads
        self._torch_evaluate: EvaluateFn | None = None
        self.large_positions = 0  # positions evaluated in numpy calls over LARGE_BATCH

    @property
    def backend(self) -> str:
        return "numpy" if self._torch_evaluate is None else "torch"

    def __call__(self, observations: np.ndarray, legal_masks: np.ndarray):
        if self._torch_evaluate is None:
            if len(observations) > LARGE_BATCH:
                self.large_positions += len(observations)
            if self.large_positions < SWITCH_AFTER_POSITIONS:
                return self._numpy_evaluate(observations, legal_masks)
            self._torch_evaluate = self._make_torch_evaluate()
        return self._torch_evaluate(observations, legal_masks)

    def _make_torch_evaluate(self) -> EvaluateFn:
        from nets.torch_net import make_evaluate_fn

        net = self._net
        model = new_model(net.config, net.observation_shape, net.num_actions, weights=self._state)
        return make_evaluate_fn(model, num_threads=self._num_threads)


# ------------------------------------------------------------------ learned search
def resolve_learned(game: Game, params: SearchParams, *,
                    checkpoint: str | Path | None = None) -> LearnedWeights | None:
    """The learned search's weights when ``params.arm == "learned"``, else None.

    Takes ``params.learned_weights`` or the file shipped for the game; raises
    ``CheckpointError`` with a clear message when there is none, or when the file is
    unreadable or trained for another game. ``checkpoint`` is the network they will steer
    (None: the shipped one). The shipped weights were trained for the shipped network, so
    another network is refused; weights given by path that recorded their network
    (``network_sha256``, written by ``train-search``) and meet another get a warning.
    """
    if params.arm != "learned":
        return None
    from nets.search_weights import LearnedSearch

    path = Path(params.learned_weights or shipped_learned_weights(game.name))
    if not path.is_file():
        raise CheckpointError(
            f"no learned search weights for {game.name} ({path}): train them with "
            f"'alphazero train-search {game.name} --checkpoint NET.pt' and pass "
            f"--set search.learned_weights=PATH")
    learned = LearnedSearch.load(path, expected_game=game.name)
    network = _network_file(game, checkpoint)
    if network is not None:
        recorded = learned.meta.get("network_sha256")
        if not params.learned_weights:  # the shipped weights: for the shipped network only
            shipped = shipped_checkpoint(game.name)
            if shipped is None or file_sha256(network) != file_sha256(shipped):
                raise CheckpointError(
                    f"the shipped learned search weights for {game.name} were trained for "
                    f"the shipped network, not {checkpoint}: train weights for it with "
                    f"'alphazero train-search {game.name} --checkpoint {checkpoint}' and "
                    f"pass --set search.learned_weights=PATH")
        elif recorded and recorded != file_sha256(network):
            logger.warning("learned search weights %s were trained for another network "
                           "(%s), not %s", path, learned.meta.get("network", "?"), checkpoint)
    return learned.weights()


def _network_file(game: Game, checkpoint: str | Path | None) -> Path | None:
    """The file of a ``--checkpoint`` that is not the shipped one (None: shipped or none)."""
    if checkpoint is None or (str(checkpoint) in SHIPPED_NAMES + (game.name,)
                              and not Path(checkpoint).exists()):
        return None
    return Path(checkpoint)


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, in hex (what learned search weights record of the
    network they were trained for)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
