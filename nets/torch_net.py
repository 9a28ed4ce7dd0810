"""The policy-value network and the `evaluate` function the search calls.

A residual tower (AlphaZero, without the squeeze-excitation extras) with a policy head that gives
logits over the game's action slots and a value head that gives a tanh scalar from the side to
move's point of view. `make_evaluate_fn` is the only boundary between the search (numpy, no torch)
and the network: it takes and returns numpy arrays.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nets.checkpoint import CheckpointError, first_line, load_checkpoint, network_shape
from nets.config import NetworkConfig  # re-exported: defined without torch
from nets.numpy_net import checked_inputs
from search import EvaluateFn

logger = logging.getLogger(__name__)

# Logit given to illegal actions. Finite (not -inf), so a row with no legal action (a terminal
# position) gives a uniform softmax instead of NaN.
ILLEGAL_LOGIT = -1e9


class ResidualBlock(nn.Module):
    """conv3x3 → BN → ReLU → conv3x3 → BN, plus the input, → ReLU."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(x + y)


class PolicyValueNet(nn.Module):
    """Residual tower with a policy head (logits[B, A]) and a value head (value[B] in [-1, 1])."""

    def __init__(
        self, config: NetworkConfig, observation_shape: tuple[int, int, int], num_actions: int
    ):
        super().__init__()
        if len(observation_shape) != 3 or min(observation_shape) < 1:
            raise ValueError(f"observation_shape must be (C, H, W), got {observation_shape}")
        if num_actions < 1:
            raise ValueError(f"num_actions must be positive, got {num_actions}")
        self.config = config
        self.observation_shape = tuple(int(d) for d in observation_shape)
        self.num_actions = int(num_actions)
        in_channels, height, width = self.observation_shape
        cells = height * width
        c = config

        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c.channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(c.channels),
            nn.ReLU(),
        )
        self.tower = nn.Sequential(*(ResidualBlock(c.channels) for _ in range(c.blocks)))
        self.policy_head = nn.Sequential(
            nn.Conv2d(c.channels, c.policy_channels, 1, bias=False),
            nn.BatchNorm2d(c.policy_channels),
            nn.ReLU(),
            nn.Flatten(),  # [B, P, H, W] -> [B, P*H*W]
            nn.Linear(c.policy_channels * cells, num_actions),
        )
        self.value_head = nn.Sequential(
            nn.Conv2d(c.channels, c.value_channels, 1, bias=False),
            nn.BatchNorm2d(c.value_channels),
            nn.ReLU(),
            nn.Flatten(),  # [B, V, H, W] -> [B, V*H*W]
            nn.Linear(c.value_channels * cells, c.value_hidden),
            nn.ReLU(),
            nn.Linear(c.value_hidden, 1),
            nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: float[B, C, H, W] -> (logits float[B, A], value float[B])."""
        h = self.tower(self.stem(x))  # [B, channels, H, W]
        logits = self.policy_head(h)  # [B, A]
        value = self.value_head(h).squeeze(-1)  # [B, 1] -> [B]
        return logits, value


def load_model(
    path: str | os.PathLike,
    device: torch.device | str = "cpu",
    expected_game: str | None = None,
) -> tuple[PolicyValueNet, dict[str, Any]]:
    """Build the stored network, load its weights, and return (model in eval mode, checkpoint).

    The torch reader behind ``nets.loader``, which callers use; ``CheckpointError`` for a
    missing, corrupt or mismatched file.
    """
    checkpoint = load_checkpoint(path, map_location="cpu")
    config, observation_shape, num_actions = network_shape(path, checkpoint, expected_game)
    model = PolicyValueNet(config, observation_shape, num_actions)
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as e:
        raise CheckpointError(
            f"checkpoint {path} weights do not fit its network config: {first_line(e)}"
        ) from e
    model.to(torch.device(device)).eval()
    return model, checkpoint


def select_device(preference: str = "auto") -> torch.device:
    """The torch device for `preference`: "auto" (cuda if available, else cpu), "cpu" or "cuda[:N]".

    Asking for cuda on a machine without it logs a warning and returns cpu instead of failing.
    """
    preference = preference.lower()
    if preference not in ("auto", "cpu", "cuda") and not preference.startswith("cuda:"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {preference!r}")
    if preference == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda" if preference == "auto" else preference)
    if preference != "auto":
        logger.warning("device %r requested but CUDA is not available; using cpu", preference)
    return torch.device("cpu")


JIT_MODES = ("eager", "trace", "mkldnn")
"""How `make_evaluate_fn` runs the model: eager PyTorch; a frozen TorchScript trace (BatchNorm
folded into the convolutions); or that trace passed through `torch.jit.optimize_for_inference`
(oneDNN convolutions, CPU only)."""


def trace_for_inference(
    model: PolicyValueNet, device: torch.device, *, mkldnn: bool = False
) -> torch.jit.ScriptModule:
    """A frozen TorchScript trace of `model` in eval mode, BatchNorm folded into the convolutions.

    The trace is a snapshot: later changes to `model`'s weights do not reach it. With `mkldnn`
    it also goes through `torch.jit.optimize_for_inference` (oneDNN kernels, CPU only).
    """
    model.eval()
    example = torch.zeros((2, *model.observation_shape), device=device)  # batch stays dynamic
    with warnings.catch_warnings():
        # torch.jit is deprecated in recent torch, but torch.compile takes ~30 s to compile on
        # this CPU and then is no faster; the trace builds in about a second.
        warnings.simplefilter("ignore", DeprecationWarning)
        with torch.no_grad():
            # check_trace would import torch.distributed: seconds of start-up
            traced = torch.jit.trace(model, example, check_trace=False)
        frozen = torch.jit.freeze(traced)
        if mkldnn:
            frozen = torch.jit.optimize_for_inference(frozen)
    return frozen


# What use_jit="auto" picks on CPU (on GPU it picks "eager"). Measured with
# benchmarks/bench_network.py on the shared 2-core CPU, torch 2.13, one thread, 5x64 Connect Four
# net, positions/s at batch 8 / 16 / 32 / 64 (best of 7 windows; the machine is noisy, +-20%):
#   eager   2219 / 2635 / 2435 / 2536
#   trace   2474 / 3031 / 3094 / 2462
#   mkldnn  2428 / 3157 / 3262 / 3525
# Both traces beat eager (1.1-1.5x) in nearly every run; "mkldnn" wins from batch ~32 up and
# ties "trace" below, which is where the batched search runs. (Only for tiny nets at batch 1,
# e.g. 2x32 tic-tac-toe, is "trace" clearly ahead: 5787 vs 2378.) torch.compile took 34 s to
# compile and was no faster than "mkldnn" (3735 vs 3718 at batch 64, slower below).
_AUTO_CPU_MODE = "mkldnn"


def _jit_mode(use_jit: bool | str, device: torch.device) -> str:
    if use_jit is True:
        return "trace"
    if use_jit is False:
        return "eager"
    if use_jit == "auto":
        if device.type != "cpu":
            return "eager"
        if _AUTO_CPU_MODE == "mkldnn" and not torch.backends.mkldnn.is_available():
            return "trace"
        return _AUTO_CPU_MODE
    if use_jit not in JIT_MODES:
        raise ValueError(
            f"use_jit must be True, False, 'auto' or one of {JIT_MODES}, got {use_jit!r}"
        )
    if use_jit == "mkldnn" and device.type != "cpu":
        raise ValueError(f"use_jit='mkldnn' needs a cpu device, got {device}")
    return use_jit


def _from_numpy(array: np.ndarray) -> torch.Tensor:
    """torch.from_numpy, also for read-only arrays (Ray's object store); we never write to them."""
    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "The given NumPy array is not writable"
        return torch.from_numpy(array)


def make_evaluate_fn(
    model: PolicyValueNet,
    device: torch.device | str | None = None,
    *,
    num_threads: int | None = 1,
    use_jit: bool | str = "auto",
) -> EvaluateFn:
    """Turn `model` into the search's `evaluate(observations, legal_masks)`.

    evaluate(observations float32[B, C, H, W], legal_masks bool[B, A])
        -> (logits float32[B, A], values float32[B])

    Illegal actions get the logit ILLEGAL_LOGIT (so softmax puts zero mass on them; an all-False
    row gives uniform logits, not NaN). `device` defaults to the device of the model's weights; the
    model is moved there and put in eval mode. `num_threads` sets torch's intra-op threads for the
    process (None leaves it alone; one thread per worker process is the measured rule on a 2-core
    machine). `use_jit`: False/"eager", True/"trace", "mkldnn" (see JIT_MODES) or "auto". With a
    trace the weights are frozen at this call: make a new evaluate after updating them.

    Each trace keeps about 2-5 MB alive for the life of the process (TorchScript never frees its
    compilation units), so a process that updates its weights again and again (self-play workers,
    the inference server) must not call this per update: use `LiveEvaluator`, traced once.
    """
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    model.to(device).eval()
    mode = _jit_mode(use_jit, device)
    net: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] = model
    if mode != "eager":
        net = trace_for_inference(model, device, mkldnn=mode == "mkldnn")
    return _numpy_evaluate(net, device, model.observation_shape, model.num_actions)


def _numpy_evaluate(
    net: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    device: torch.device,
    obs_shape: tuple[int, ...],
    num_actions: int,
) -> EvaluateFn:
    """The numpy `evaluate(observations, legal_masks)` around a torch `net`."""

    def evaluate(
        observations: np.ndarray, legal_masks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        observations, legal_masks = checked_inputs(observations, legal_masks, obs_shape,
                                                   num_actions)
        with torch.inference_mode():
            x = _from_numpy(observations).to(device, non_blocking=True)  # [B, C, H, W]
            mask = _from_numpy(legal_masks).to(device, non_blocking=True)  # [B, A]
            logits, values = net(x)  # [B, A], [B]
            logits = logits.masked_fill(~mask, ILLEGAL_LOGIT)
            logits_np = logits.float().cpu().numpy()
            values_np = values.float().cpu().numpy()
        return np.ascontiguousarray(logits_np), np.ascontiguousarray(values_np)

    return evaluate


def _conv_bn_pairs(model: nn.Module) -> list[tuple[nn.Module, str, str]]:
    """(parent, conv attribute, BatchNorm attribute) for every Conv2d directly followed by a
    BatchNorm2d in `model`: the residual blocks' pairs and the stem's and heads' Sequentials."""
    pairs = []
    for module in model.modules():
        if isinstance(module, ResidualBlock):
            pairs += [(module, "conv1", "bn1"), (module, "conv2", "bn2")]
        elif isinstance(module, nn.Sequential):
            names = list(module._modules)
            for a, b in zip(names, names[1:]):
                if isinstance(module._modules[a], nn.Conv2d) and isinstance(
                        module._modules[b], nn.BatchNorm2d):
                    pairs.append((module, a, b))
    return pairs


class LiveEvaluator:
    """The search's `evaluate` for a model whose weights change: traced once, refreshed in place.

    `make_evaluate_fn` with a trace builds a new TorchScript module per call, and each keeps about
    2-5 MB alive for the life of the process; a self-play worker that rebuilt it on every weight
    publication grew by ~200 MB a minute. This traces once, at construction: in the trace modes
    ("trace", "mkldnn", "auto" on CPU) a copy of `model` with BatchNorm folded into the
    convolutions (what `torch.jit.freeze` gives the frozen trace) is traced *without* freezing,
    so the trace reads that copy's parameter tensors; `refresh()` refolds `model`'s current
    weights into them in place (a few copies, no new TorchScript). "mkldnn" cannot be had without
    freezing the weights in, so it runs as "trace" here. In "eager" mode (and "auto" on GPU) the
    model itself is called and `refresh` has nothing to do.

        live = LiveEvaluator(model, "cpu", num_threads=1)
        load_numpy_weights(model, weights); live.refresh()   # on every publication
        worker.set_evaluate(live.evaluate)

    Call `refresh()` after every change to `model`'s weights (load_state_dict copies in place,
    so the model's own tensors stay the same objects); between refreshes `evaluate` uses the
    weights of the last refresh in the trace modes, and the model's current ones in eager mode.
    """

    def __init__(
        self,
        model: PolicyValueNet,
        device: torch.device | str | None = None,
        *,
        num_threads: int | None = 1,
        use_jit: bool | str = "auto",
    ):
        if device is None:
            device = next(model.parameters()).device
        self.device = torch.device(device)
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        self.model = model.to(self.device).eval()
        self.mode = "eager" if _jit_mode(use_jit, self.device) == "eager" else "trace"
        net: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] = model
        self._folded: nn.Module | None = None
        if self.mode == "trace":
            self._folded = self._folded_copy(model)
            self.refresh()
            example = torch.zeros((2, *model.observation_shape), device=self.device)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # see trace_for_inference
                with torch.no_grad():
                    net = torch.jit.trace(self._folded, example, check_trace=False)
        self.evaluate = _numpy_evaluate(net, self.device, model.observation_shape,
                                        model.num_actions)

    def __call__(self, observations: np.ndarray, legal_masks: np.ndarray):
        return self.evaluate(observations, legal_masks)

    @staticmethod
    def _folded_copy(model: nn.Module) -> nn.Module:
        """A structural copy of `model` whose conv+BN pairs are one biased conv and an Identity."""
        import copy

        folded = copy.deepcopy(model).eval()
        for parent, conv_name, bn_name in _conv_bn_pairs(folded):
            conv = parent._modules[conv_name]
            parent._modules[conv_name] = nn.Conv2d(
                conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True,
                padding_mode=conv.padding_mode, device=conv.weight.device,
                dtype=conv.weight.dtype)
            parent._modules[bn_name] = nn.Identity()
        for p in folded.parameters():
            p.requires_grad_(False)
        return folded

    @torch.no_grad()
    def refresh(self) -> None:
        """Bring the traced network up to `model`'s current weights (in place; no new trace)."""
        if self._folded is None:
            return
        self.model.eval()
        folded = dict(self._folded.named_parameters())
        done = set()
        for (parent, conv_name, bn_name), (fparent, _, _) in zip(
                _conv_bn_pairs(self.model), _conv_bn_pairs_of_folded(self._folded, self.model)):
            conv, bn = parent._modules[conv_name], parent._modules[bn_name]
            scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)  # [out]
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            target = fparent._modules[conv_name]
            target.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
            target.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
            done.update({id(target.weight), id(target.bias)})
        params = dict(self.model.named_parameters())
        for name, p in folded.items():
            if id(p) not in done:
                p.copy_(params[name])


def _conv_bn_pairs_of_folded(folded: nn.Module, model: nn.Module
                             ) -> list[tuple[nn.Module, str, str]]:
    """The folded copy's modules at the places of `model`'s conv+BN pairs (same order)."""
    modules = dict(folded.named_modules())
    by_id = {id(m): name for name, m in model.named_modules()}
    return [(modules[by_id[id(parent)]], conv, bn) for parent, conv, bn in _conv_bn_pairs(model)]
