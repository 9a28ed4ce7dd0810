"""PolicyValueNet's eval-mode forward pass in numpy, for tools where start-up dominates.

Importing torch takes about two seconds; `alphazero analyse` on one position needs a tenth of
that for its search. This module reads a checkpoint without torch
(`nets.checkpoint.read_checkpoint_arrays`) and runs the same network with numpy:

- activations are kept channels-last, ``[B, H, W, C]``, so every convolution is one matrix
  product: a 3x3 convolution gathers its ``[B*H*W, 3*3*C]`` patches with stride tricks
  (im2col) and a 1x1 convolution is a plain reshape;
- batch norm (eval mode: running statistics) is folded into the preceding convolution's weights
  and a bias, as `torch.jit.freeze` does;
- the heads' linear layers have their input rows permuted from torch's ``(C, H, W)`` flattening
  to channels-last ``(H, W, C)``, so no transpose is needed at run time.

`make_numpy_evaluate_fn` has the contract of `nets.torch_net.make_evaluate_fn`, so the
search cannot tell the two apart; outputs agree with torch to about 1e-5 (float32 sums in
another order). Training, self-play and the inference server keep torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from nets.checkpoint import CheckpointError, network_shape, read_checkpoint_arrays
from nets.config import NetworkConfig
from search import EvaluateFn

# The same as nets.torch_net.ILLEGAL_LOGIT (a test checks it); kept here so that this module
# does not import torch.
ILLEGAL_LOGIT = -1e9
BATCH_NORM_EPS = 1e-5  # torch.nn.BatchNorm2d's default, which PolicyValueNet uses
CHUNK_ROWS = 1024
"""Board cells (positions x H x W) a forward pass handles at once: 24 Connect Four positions,
16 chess positions. Throughput was flat from 8 to 32 positions and fell beyond."""


class Weights:
    """Takes arrays out of a state dict by name, checking each one's shape."""

    def __init__(self, state: Mapping[str, np.ndarray]):
        self._state = {k: v for k, v in state.items() if not k.endswith(".num_batches_tracked")}
        self._used: set[str] = set()

    def take(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in self._state:
            raise ValueError(f"missing weight {name!r}")
        array = np.asarray(self._state[name], dtype=np.float64)
        if array.shape != shape:
            raise ValueError(f"weight {name!r} has shape {list(array.shape)}, "
                             f"the network needs {list(shape)}")
        self._used.add(name)
        return array

    def check_all_used(self) -> None:
        unexpected = sorted(set(self._state) - self._used)
        if unexpected:
            raise ValueError(f"unexpected weights {unexpected[:5]}")


def fold_batch_norm(w: Weights, conv: str, bn: str, c_in: int, c_out: int, k: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(kernel float32[c_out, c_in, k, k], bias float32[c_out]): conv ``conv`` (no bias) then
    eval-mode BatchNorm ``bn`` as one biased convolution, torch's kernel layout. Shared with
    ``nets.onnx_net``."""
    kernel = w.take(f"{conv}.weight", (c_out, c_in, k, k))  # torch: [out, in, kh, kw]
    gamma, beta = w.take(f"{bn}.weight", (c_out,)), w.take(f"{bn}.bias", (c_out,))
    mean, var = w.take(f"{bn}.running_mean", (c_out,)), w.take(f"{bn}.running_var", (c_out,))
    scale = gamma / np.sqrt(var + BATCH_NORM_EPS)  # [out]
    return ((kernel * scale.reshape(-1, 1, 1, 1)).astype(np.float32),
            (beta - mean * scale).astype(np.float32))


def _folded_conv(w: Weights, conv: str, bn: str, c_in: int, c_out: int, k: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(weight float32[k*k*c_in, c_out], bias float32[c_out]) of conv (no bias) then eval BN.

    Rows are ordered (kernel row, kernel column, input channel) to match the im2col patches.
    """
    kernel, bias = fold_batch_norm(w, conv, bn, c_in, c_out, k)  # [out, in, kh, kw]
    return kernel.transpose(2, 3, 1, 0).reshape(k * k * c_in, c_out).copy(), bias


def _channels_last_linear(w: Weights, name: str, channels: int, height: int, width: int,
                          out: int) -> tuple[np.ndarray, np.ndarray]:
    """(weight float32[H*W*C, out], bias float32[out]) of a Linear over a (C, H, W) flattening."""
    weight = w.take(f"{name}.weight", (out, channels * height * width))
    weight = weight.reshape(out, channels, height, width).transpose(2, 3, 1, 0)  # [H, W, C, out]
    bias = w.take(f"{name}.bias", (out,))
    return (weight.reshape(height * width * channels, out).astype(np.float32),
            bias.astype(np.float32))


class _Buffers:
    """Preallocated arrays for one batch size: fresh ~1 MB arrays on every call cost page faults
    that took as long as the matrix products themselves (measured: 3.3 ms of 9 ms a forward).

    A padded buffer's border stays zero; only its interior is written.
    """

    def __init__(self, batch: int, height: int, width: int, in_channels: int, channels: int):
        rows = batch * height * width
        self.stem_padded = np.zeros((batch, height + 2, width + 2, in_channels), np.float32)
        self.padded = np.zeros((batch, height + 2, width + 2, channels), np.float32)
        self.stem_columns = np.empty((rows, 9 * in_channels), np.float32)
        self.columns = np.empty((rows, 9 * channels), np.float32)
        self.h = np.empty((rows, channels), np.float32)  # the tower's running activation
        self.y = np.empty((rows, channels), np.float32)  # inside a residual block


def _conv3x3(padded: np.ndarray, columns: np.ndarray, weight: np.ndarray, bias: np.ndarray,
             out: np.ndarray) -> np.ndarray:
    """3x3 convolution of padded's interior (float32[B, H+2, W+2, C], zero border) into
    out float32[B*H*W, out_channels], via im2col into columns float32[B*H*W, 9*C]."""
    b, hp, wp, c = padded.shape
    h, w = hp - 2, wp - 2
    sb, sh, sw, sc = padded.strides
    patches = np.lib.stride_tricks.as_strided(  # [B, H, W, 3, 3, C], a view of `padded`
        padded, shape=(b, h, w, 3, 3, c), strides=(sb, sh, sw, sh, sw, sc), writeable=False)
    np.copyto(columns.reshape(b, h, w, 3, 3, c), patches)
    np.matmul(columns, weight, out=out)
    out += bias
    return out


def _conv1x1(h: np.ndarray, batch: int, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """h float32[B*H*W, C] -> float32[B, H*W*out] (flattened channels-last for the head)."""
    out = h @ weight  # [B*H*W, out]
    out += bias
    return out.reshape(batch, -1)


class NumpyPolicyValueNet:
    """PolicyValueNet in eval mode, in numpy: ``forward(x[B, C, H, W]) -> (logits[B, A],
    values[B])``. Built from a state dict of numpy arrays (`from_state_dict`)."""

    def __init__(self, config: NetworkConfig, observation_shape: tuple[int, int, int],
                 num_actions: int, state: Mapping[str, np.ndarray]):
        if len(observation_shape) != 3 or min(observation_shape) < 1:
            raise ValueError(f"observation_shape must be (C, H, W), got {observation_shape}")
        self.config = config
        self.observation_shape = tuple(int(d) for d in observation_shape)
        self.num_actions = int(num_actions)
        in_channels, height, width = self.observation_shape
        c = config
        w = Weights(state)
        self._stem = _folded_conv(w, "stem.0", "stem.1", in_channels, c.channels, 3)
        self._tower = [
            (_folded_conv(w, f"tower.{i}.conv1", f"tower.{i}.bn1", c.channels, c.channels, 3),
             _folded_conv(w, f"tower.{i}.conv2", f"tower.{i}.bn2", c.channels, c.channels, 3))
            for i in range(c.blocks)
        ]
        self._policy_conv = _folded_conv(w, "policy_head.0", "policy_head.1", c.channels,
                                         c.policy_channels, 1)
        self._policy_fc = _channels_last_linear(w, "policy_head.4", c.policy_channels, height,
                                                width, num_actions)
        self._value_conv = _folded_conv(w, "value_head.0", "value_head.1", c.channels,
                                        c.value_channels, 1)
        self._value_fc1 = _channels_last_linear(w, "value_head.4", c.value_channels, height,
                                                width, c.value_hidden)
        value_fc2 = w.take("value_head.6.weight", (1, c.value_hidden))
        self._value_fc2 = (value_fc2.T.astype(np.float32),  # [hidden, 1]
                           w.take("value_head.6.bias", (1,)).astype(np.float32))
        w.check_all_used()
        self._buffers: dict[int, _Buffers] = {}

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x float32[B, C, H, W] -> (logits float32[B, A], values float32[B] in [-1, 1]).

        Large batches go through in chunks of about CHUNK_ROWS board cells, whose buffers stay
        in the CPU cache (one chunk of 64 Connect Four positions ran at half the speed of 16).
        Not thread-safe: calls share preallocated buffers (one set per recent chunk size).
        """
        chunk = max(1, CHUNK_ROWS // (self.observation_shape[1] * self.observation_shape[2]))
        if x.shape[0] <= chunk:
            return self._forward_chunk(x)
        parts = [self._forward_chunk(x[i:i + chunk]) for i in range(0, x.shape[0], chunk)]
        return (np.concatenate([logits for logits, _ in parts]),
                np.concatenate([values for _, values in parts]))

    def _forward_chunk(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batch = x.shape[0]
        buf = self._buffers.get(batch)
        if buf is None:
            if len(self._buffers) >= 4:
                self._buffers.clear()
            buf = self._buffers[batch] = _Buffers(batch, *self.observation_shape[1:],
                                                  self.observation_shape[0], self.config.channels)
        interior = buf.padded[:, 1:-1, 1:-1, :]  # [B, H, W, channels], a view
        shape = interior.shape
        buf.stem_padded[:, 1:-1, 1:-1, :] = x.transpose(0, 2, 3, 1)  # NCHW -> NHWC
        h = _conv3x3(buf.stem_padded, buf.stem_columns, *self._stem, out=buf.h)  # [B*H*W, ch]
        np.maximum(h, 0.0, out=h)
        for conv1, conv2 in self._tower:
            interior[...] = h.reshape(shape)
            y = _conv3x3(buf.padded, buf.columns, *conv1, out=buf.y)
            np.maximum(y, 0.0, out=y)
            interior[...] = y.reshape(shape)
            y = _conv3x3(buf.padded, buf.columns, *conv2, out=buf.y)
            h += y
            np.maximum(h, 0.0, out=h)
        p = np.maximum(_conv1x1(h, batch, *self._policy_conv), 0.0)  # [B, H*W*policy_ch]
        logits = p @ self._policy_fc[0] + self._policy_fc[1]  # [B, A]
        v = np.maximum(_conv1x1(h, batch, *self._value_conv), 0.0)  # [B, H*W*value_ch]
        v = np.maximum(v @ self._value_fc1[0] + self._value_fc1[1], 0.0)  # [B, hidden]
        values = np.tanh(v @ self._value_fc2[0] + self._value_fc2[1])[:, 0]  # [B, 1] -> [B]
        return logits, values


def load_numpy_model(path: str | os.PathLike, expected_game: str | None = None
                     ) -> tuple[NumpyPolicyValueNet, dict[str, Any]]:
    """`nets.torch_net.load_model` without torch: (numpy network, checkpoint); the numpy
    reader behind ``nets.loader``.

    Raises CheckpointError (UnsupportedCheckpointError when only torch can read the file).
    """
    checkpoint = read_checkpoint_arrays(path)
    config, observation_shape, num_actions = network_shape(path, checkpoint, expected_game)
    try:
        net = NumpyPolicyValueNet(config, observation_shape, num_actions, checkpoint["model"])
    except (ValueError, TypeError, AttributeError) as e:
        raise CheckpointError(f"checkpoint {path} weights do not fit its network config: {e}"
                              ) from e
    return net, checkpoint


def checked_inputs(observations: np.ndarray, legal_masks: np.ndarray,
                   obs_shape: tuple[int, ...], num_actions: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The evaluate contract's inputs as C-ordered float32 [B, *obs_shape] and bool
    [B, num_actions] arrays (no copy when they already are); ValueError naming a bad shape.
    Shared by this module's and ``nets.torch_net``'s evaluate functions."""
    observations = np.ascontiguousarray(observations, dtype=np.float32)
    legal_masks = np.ascontiguousarray(legal_masks, dtype=np.bool_)
    batch = observations.shape[0] if observations.ndim > 0 else -1
    if observations.ndim != 4 or observations.shape[1:] != tuple(obs_shape):
        raise ValueError(
            f"observations must have shape [B, {', '.join(map(str, obs_shape))}], "
            f"got {list(observations.shape)}"
        )
    if legal_masks.shape != (batch, num_actions):
        raise ValueError(
            f"legal_masks must have shape [{batch}, {num_actions}], "
            f"got {list(legal_masks.shape)}"
        )
    return observations, legal_masks


def make_numpy_evaluate_fn(net: NumpyPolicyValueNet) -> EvaluateFn:
    """The search's `evaluate(observations, legal_masks)` for `net`; see `make_evaluate_fn`.

    evaluate(observations float32[B, C, H, W], legal_masks bool[B, A])
        -> (logits float32[B, A], values float32[B])

    Illegal actions get ILLEGAL_LOGIT; shapes are checked with the same errors as torch's.
    """
    obs_shape, num_actions = net.observation_shape, net.num_actions

    def evaluate(observations: np.ndarray, legal_masks: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        observations, legal_masks = checked_inputs(observations, legal_masks, obs_shape,
                                                   num_actions)
        logits, values = net.forward(observations)
        logits = np.where(legal_masks, logits, np.float32(ILLEGAL_LOGIT))
        return (np.ascontiguousarray(logits, dtype=np.float32),
                np.ascontiguousarray(values, dtype=np.float32))

    return evaluate
