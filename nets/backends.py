"""What runs the network: the backends, the choice among them, and a network whose weights change.

    onnx       ONNX Runtime, float32 (``nets.onnx_net``): the fastest measured on CPU
    onnx-int8  ONNX Runtime, the convolutions in int8 (VNNI), calibrated on playout positions;
               opt in where its accuracy was measured to hold (BENCHMARKS.md)
    numpy      ``nets.numpy_net``: no compiled dependency beyond numpy
    torch      ``nets.torch_net``: the training framework's own, and the GPU path
    auto       onnx when ONNX Runtime is installed and the device is the CPU, else torch

`LiveNetwork` is the network of a process whose weights are replaced again and again (self-play
workers, the inference server): ``set_weights`` takes the numpy state dict that crosses Ray and
``evaluate`` always runs the latest. ONNX Runtime gets a new session per version (its graph is
built from the arrays in milliseconds, no trace; memory stays flat: tests/selfplay); torch keeps
one trace refreshed in place (`nets.torch_net.LiveEvaluator`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from games.base import Game
from nets.config import NetworkConfig

BACKENDS = ("auto", "onnx", "onnx-int8", "numpy", "torch")
"""Ways to run the network; see the module docstring."""
CALIBRATION_POSITIONS = 512
"""Playout positions the int8 network's activation ranges are measured on."""


class BackendError(ValueError):
    """A backend that is unknown or cannot run here (its package is not installed)."""


def onnx_available() -> bool:
    """Whether ONNX Runtime and the ONNX graph builder are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def pick_backend(backend: str, device: str = "cpu") -> str:
    """The backend that runs: ``backend`` itself, or for "auto" onnx on a CPU when ONNX
    Runtime is installed, else torch. BackendError for an unknown name or a missing package."""
    if backend not in BACKENDS:
        raise BackendError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    on_cpu = str(device).split(":")[0] == "cpu"
    if backend == "auto":
        return "onnx" if on_cpu and onnx_available() else "torch"
    if backend.startswith("onnx") and not onnx_available():
        raise BackendError(f"backend {backend} needs ONNX Runtime: pip install onnxruntime onnx "
                           f"(or choose --backend numpy or torch)")
    if backend in ("onnx-int8", "numpy") and not on_cpu:
        raise BackendError(f"backend {backend} runs on the CPU only, not {device}")
    return backend


def playout_observations(game: Game, count: int = CALIBRATION_POSITIONS, seed: int = 0
                         ) -> np.ndarray:
    """float32[count, C, H, W]: encodings of positions reached by uniformly random legal play
    from the start, restarting at each game's end (the int8 network's calibration set)."""
    rng = np.random.default_rng(seed)
    observations = []
    state = game.initial_state()
    while len(observations) < count:
        if game.is_terminal(state):
            state = game.initial_state()
            continue
        observations.append(game.encode(state))
        state = game.apply(state, int(rng.choice(np.flatnonzero(game.legal_mask(state)))))
    return np.stack(observations).astype(np.float32)


class LiveNetwork:
    """The network of a process whose weights change: ``set_weights(numpy state dict)``, then
    ``evaluate(observations, legal_masks)`` (the search's contract) runs them.

    ``backend`` is one of BACKENDS ("auto" resolved by `pick_backend`; ``self.backend`` says
    which runs); ``device`` "cpu" or "cuda[:N]" (torch); ``num_threads`` the intra-op threads
    (None: the library's default); ``calibration`` the int8 backend's positions
    (float32[N, C, H, W], e.g. `playout_observations`), required for onnx-int8.
    """

    def __init__(self, network: NetworkConfig, observation_shape: tuple[int, int, int],
                 num_actions: int, *, backend: str = "auto", device: str = "cpu",
                 num_threads: int | None = 1, calibration: np.ndarray | None = None):
        self.backend = pick_backend(backend, device)
        if self.backend == "onnx-int8" and calibration is None:
            raise ValueError("the onnx-int8 backend needs calibration positions")
        self.network, self.observation_shape = network, tuple(observation_shape)
        self.num_actions, self.device, self.num_threads = int(num_actions), device, num_threads
        self.calibration = calibration
        self.version = -1  # set_weights calls so far, minus one
        self._impl: Any = None
        self._evaluate = None

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Run ``weights`` (a PolicyValueNet state dict of numpy arrays) from now on."""
        if self.backend.startswith("onnx"):
            self._set_onnx(weights)
        elif self.backend == "numpy":
            from nets.numpy_net import NumpyPolicyValueNet, make_numpy_evaluate_fn

            net = NumpyPolicyValueNet(self.network, self.observation_shape, self.num_actions,
                                      weights)
            self._evaluate = make_numpy_evaluate_fn(net)
        else:
            self._set_torch(weights)
        self.version += 1

    def _set_onnx(self, weights: Mapping[str, np.ndarray]) -> None:
        from nets.onnx_net import OnnxPolicyValueNet, make_onnx_evaluate_fn

        calibration = self.calibration if self.backend == "onnx-int8" else None
        if self._impl is None:
            self._impl = OnnxPolicyValueNet(self.network, self.observation_shape,
                                            self.num_actions, weights,
                                            num_threads=self.num_threads, device=self.device,
                                            calibration=calibration)
            self._evaluate = make_onnx_evaluate_fn(self._impl)
        else:
            self._impl.set_weights(weights)

    def _set_torch(self, weights: Mapping[str, np.ndarray]) -> None:
        from nets.loader import new_model
        from nets.torch_net import LiveEvaluator
        from nets.weights import load_numpy_weights

        if self._impl is None:
            model = new_model(self.network, self.observation_shape, self.num_actions,
                              weights=weights)
            # One trace for the life of the process, refreshed in place: a new trace per
            # publication kept ~2-5 MB alive each (TorchScript never frees them).
            self._impl = LiveEvaluator(model, self.device, num_threads=self.num_threads)
            self._evaluate = self._impl.evaluate
        else:
            load_numpy_weights(self._impl.model, dict(weights))
            self._impl.refresh()

    def evaluate(self, observations: np.ndarray, legal_masks: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        """(logits float32[B, A], values float32[B]) of the latest weights."""
        if self._evaluate is None:
            raise RuntimeError("the network has no weights yet (call set_weights)")
        return self._evaluate(observations, legal_masks)

    __call__ = evaluate
