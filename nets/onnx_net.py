"""PolicyValueNet's eval-mode forward pass in ONNX Runtime: the fastest CPU backend measured.

The ONNX graph is built here straight from the state dict's numpy arrays (the same arrays the
torch-free reader gives, ``nets.checkpoint.read_checkpoint_arrays``), not by
``torch.onnx.export``: building it takes milliseconds and needs neither torch nor a trace, so
``analyse``, ``play`` and ``uci`` start without torch and a self-play worker rebuilds its
session on every weight publication at no measurable cost (`OnnxPolicyValueNet.set_weights`).

- batch norm (eval mode: running statistics) is folded into the preceding convolution, as
  ``nets.numpy_net`` and ``torch.jit.freeze`` do;
- the legal mask is applied inside the graph (``Where``), so the evaluate function is one
  ``session.run`` and two array checks;
- the batch dimension is symbolic: one session serves every batch size.

ONNX Runtime fuses Conv+Relu and Conv+Add+Relu and picks its blocked-layout convolutions
itself. Measured against torch in ``benchmarks/bench_network.py`` (BENCHMARKS.md, "Inference
engines"). Outputs agree with torch's to about 1e-5 (tests/nets/test_onnx_net.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from nets.checkpoint import CheckpointError, network_shape, read_checkpoint_arrays
from nets.config import NetworkConfig
from nets.numpy_net import ILLEGAL_LOGIT, Weights, checked_inputs, fold_batch_norm
from search import EvaluateFn

OPSET = 17
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def onnx_graph(config: NetworkConfig, observation_shape: tuple[int, int, int],
               num_actions: int, state: Mapping[str, np.ndarray], *,
               ranges: Mapping[str, tuple[float, float]] | None = None,
               expose: bool = False) -> bytes:
    """The serialised ONNX model of the network with weights ``state`` (a PolicyValueNet state
    dict of numpy arrays):

        observations float32[B, C, H, W], legal_masks bool[B, A]
            -> logits float32[B, A] (ILLEGAL_LOGIT where the mask is False), values float32[B]

    ``ranges`` (from `calibrate`) makes it the int8 network: every convolution of the tower and
    of the heads' 1x1 stems runs on uint8 activations and int8 weights (per output channel,
    symmetric), each activation quantised with the (min, max) range given for it (a range
    starting at 0 is also the ReLU), in the QuantizeLinear/DequantizeLinear form ONNX Runtime
    fuses into QLinearConv and QLinearAdd (VNNI kernels on x86). The heads' linear layers stay
    float32: they are a few percent of the work and set the logits' and value's precision.
    ``expose`` adds every activation `calibrate` needs as an output (named as in ACTIVATIONS).
    Raises ValueError naming a missing or misshapen weight.
    """
    from onnx import TensorProto, helper, numpy_helper

    in_channels, height, width = (int(d) for d in observation_shape)
    c = config
    w = Weights(state)
    nodes, initializers, exposed = [], [], []

    def constant(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(kind: str, inputs: list[str], out: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [out], **attributes))
        return out

    scales: dict[str, float] = {}  # dequantised activation -> its scale (int8 graph)

    def activation(name: str) -> str:
        """The activation ``name`` as the next layer reads it: itself (float32 graph), or
        quantised to uint8 with its calibrated range and dequantised (int8 graph)."""
        if expose:
            exposed.append(name)
        if ranges is None:
            return name
        scale, zero = uint8_parameters(*ranges[name])
        s = constant(f"{name}.scale", np.array(scale, np.float32))
        z = constant(f"{name}.zero", np.array(zero, np.uint8))
        out = op("DequantizeLinear", [op("QuantizeLinear", [name, s, z], f"{name}.q"), s, z],
                 f"{name}.dq")
        scales[out] = scale
        return out

    def conv(x: str, conv_name: str, bn_name: str, c_in: int, c_out: int, k: int, out: str,
             relu: bool) -> str:
        kernel, bias = fold_batch_norm(w, conv_name, bn_name, c_in, c_out, k)  # [o, i, k, k]
        if ranges is None:
            inputs = [x, constant(f"{conv_name}.w", kernel), constant(f"{conv_name}.b", bias)]
        else:  # int8 weights per output channel; int32 bias at the input's scale x theirs
            w_scale = np.maximum(np.abs(kernel).reshape(c_out, -1).max(axis=1), 1e-12) / 127
            w_scale = w_scale.astype(np.float32)
            kernel_q = np.clip(np.rint(kernel / w_scale.reshape(-1, 1, 1, 1)), -127, 127)
            b_scale = (scales[x] * w_scale).astype(np.float32)
            bias_q = np.rint(bias / b_scale).astype(np.int32)
            zeros8, zeros32 = np.zeros(c_out, np.int8), np.zeros(c_out, np.int32)
            inputs = [x,
                      op("DequantizeLinear", [constant(f"{conv_name}.wq", kernel_q.astype(np.int8)),
                                              constant(f"{conv_name}.ws", w_scale),
                                              constant(f"{conv_name}.wz", zeros8)],
                         f"{conv_name}.w", axis=0),
                      op("DequantizeLinear", [constant(f"{conv_name}.bq", bias_q),
                                              constant(f"{conv_name}.bs", b_scale),
                                              constant(f"{conv_name}.bz", zeros32)],
                         f"{conv_name}.b", axis=0)]
        if not relu:
            return op("Conv", inputs, out, kernel_shape=[k, k], pads=[k // 2] * 4)
        y = op("Conv", inputs, f"{out}.pre" if ranges is None else out, kernel_shape=[k, k],
               pads=[k // 2] * 4)
        # int8: the quantisation that follows, whose range starts at 0, is the ReLU
        return op("Relu", [y], out) if ranges is None else y

    def linear(x: str, name: str, n_in: int, n_out: int, out: str) -> str:
        weight = w.take(f"{name}.weight", (n_out, n_in)).astype(np.float32)  # [out, in]
        bias = w.take(f"{name}.bias", (n_out,)).astype(np.float32)
        return op("Gemm", [x, constant(f"{name}.w", weight), constant(f"{name}.b", bias)], out,
                  transB=1)

    h = activation("observations")
    h = activation(conv(h, "stem.0", "stem.1", in_channels, c.channels, 3, "h0", relu=True))
    for i in range(c.blocks):
        y = activation(conv(h, f"tower.{i}.conv1", f"tower.{i}.bn1", c.channels, c.channels, 3,
                            f"b{i}.r1", relu=True))
        y = activation(conv(y, f"tower.{i}.conv2", f"tower.{i}.bn2", c.channels, c.channels, 3,
                            f"b{i}.c2", relu=False))
        if ranges is None:
            h = activation(op("Relu", [op("Add", [h, y], f"b{i}.sum")], f"h{i + 1}"))
        else:  # the quantisation of the sum, its range starting at 0, is the ReLU
            h = activation(op("Add", [h, y], f"h{i + 1}"))
    cells = height * width
    p = activation(conv(h, "policy_head.0", "policy_head.1", c.channels, c.policy_channels, 1,
                        "p.relu", relu=True))
    p = op("Flatten", [p], "p.flat", axis=1)  # [B, P*H*W], torch's (C, H, W) order
    p = linear(p, "policy_head.4", c.policy_channels * cells, num_actions, "p.logits")
    op("Where", ["legal_masks", p, constant("illegal", np.array(ILLEGAL_LOGIT, np.float32))],
       "logits")
    v = activation(conv(h, "value_head.0", "value_head.1", c.channels, c.value_channels, 1,
                        "v.relu", relu=True))
    v = op("Flatten", [v], "v.flat", axis=1)  # [B, V*H*W]
    v = op("Relu", [linear(v, "value_head.4", c.value_channels * cells, c.value_hidden,
                           "v.fc1")], "v.hidden")
    v = op("Tanh", [linear(v, "value_head.6", c.value_hidden, 1, "v.fc2")], "v.tanh")  # [B, 1]
    op("Reshape", [v, constant("flat", np.array([-1], np.int64))], "values")  # [B]
    w.check_all_used()

    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", num_actions]),
               helper.make_tensor_value_info("values", TensorProto.FLOAT, ["B"])]
    outputs += [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in exposed]
    graph = helper.make_graph(
        nodes, "PolicyValueNet",
        [helper.make_tensor_value_info("observations", TensorProto.FLOAT,
                                       ["B", in_channels, height, width]),
         helper.make_tensor_value_info("legal_masks", TensorProto.BOOL, ["B", num_actions])],
        outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="alphazero")
    return model.SerializeToString()


def uint8_parameters(low: float, high: float) -> tuple[float, int]:
    """(scale, zero point) of the uint8 quantisation covering [min(low, 0), max(high, 0)]."""
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    scale = (high - low) / 255 if high > low else 1.0
    return scale, int(np.clip(np.rint(-low / scale), 0, 255))


def session_options(num_threads: int | None):
    """ONNX Runtime session options: ``num_threads`` intra-op threads (None: its default),
    one inter-op thread, no spinning (a spinning pool steals the core another worker needs)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if num_threads is not None:
        options.intra_op_num_threads = int(num_threads)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: no warnings about unused initialisers
    return options


class OnnxPolicyValueNet:
    """PolicyValueNet in eval mode, in ONNX Runtime: ``forward(x[B, C, H, W], masks[B, A]) ->
    (logits[B, A], values[B])``. ``set_weights`` swaps in a new state dict (a new session, the
    old one freed); ``version`` counts the swaps. ``device`` is "cpu" or "cuda" (CUDA needs
    onnxruntime-gpu; without it the session runs on the CPU and ``device`` says so). With
    ``calibration`` (float32[N, C, H, W] positions) it is the int8 network, its activation
    ranges measured on those positions at every ``set_weights``."""

    def __init__(self, config: NetworkConfig, observation_shape: tuple[int, int, int],
                 num_actions: int, state: Mapping[str, np.ndarray], *,
                 num_threads: int | None = 1, device: str = "cpu",
                 calibration: np.ndarray | None = None):
        import onnxruntime as ort

        if len(observation_shape) != 3 or min(observation_shape) < 1:
            raise ValueError(f"observation_shape must be (C, H, W), got {observation_shape}")
        if int(num_actions) < 1:
            raise ValueError(f"num_actions must be positive, got {num_actions}")
        self.config = config
        self.observation_shape = tuple(int(d) for d in observation_shape)
        self.num_actions = int(num_actions)
        self.num_threads = num_threads
        kind = device.split(":")[0]
        if kind not in PROVIDERS:
            raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}")
        self.device = kind if PROVIDERS[kind] in ort.get_available_providers() else "cpu"
        self._options = session_options(num_threads)
        self.calibration = calibration
        self.version = -1
        self.set_weights(state)

    @property
    def int8(self) -> bool:
        return self.calibration is not None

    def set_weights(self, state: Mapping[str, np.ndarray]) -> None:
        """Rebuild the session around ``state`` (milliseconds; the graph is built, not traced)."""
        import onnxruntime as ort

        args = (self.config, self.observation_shape, self.num_actions, state)
        ranges = None if self.calibration is None else calibrate(*args, self.calibration)
        model = onnx_graph(*args, ranges=ranges)
        providers = [PROVIDERS[self.device]] + (["CPUExecutionProvider"]
                                                if self.device != "cpu" else [])
        self._session = ort.InferenceSession(model, self._options, providers=providers)
        self.version += 1

    def forward(self, x: np.ndarray, legal_masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x float32[B, C, H, W], legal_masks bool[B, A] (C-ordered) -> (logits, values)."""
        logits, values = self._session.run(None, {"observations": x, "legal_masks": legal_masks})
        return logits, values


def load_onnx_model(path: str | os.PathLike, expected_game: str | None = None, *,
                    num_threads: int | None = 1, device: str = "cpu",
                    calibration: np.ndarray | None = None
                    ) -> tuple[OnnxPolicyValueNet, dict[str, Any]]:
    """`nets.numpy_net.load_numpy_model` for ONNX Runtime: (network, checkpoint), no torch.

    Raises CheckpointError (UnsupportedCheckpointError when only torch can read the file).
    """
    checkpoint = read_checkpoint_arrays(path)
    config, observation_shape, num_actions = network_shape(path, checkpoint, expected_game)
    try:
        net = OnnxPolicyValueNet(config, observation_shape, num_actions, checkpoint["model"],
                                 num_threads=num_threads, device=device,
                                 calibration=calibration)
    except (ValueError, TypeError, AttributeError) as e:
        raise CheckpointError(f"checkpoint {path} weights do not fit its network config: {e}"
                              ) from e
    return net, checkpoint


def make_onnx_evaluate_fn(net: OnnxPolicyValueNet) -> EvaluateFn:
    """The search's `evaluate(observations, legal_masks)` for `net`; the contract of
    `nets.torch_net.make_evaluate_fn`. It calls the net's current session, so it follows
    `set_weights` without being rebuilt."""
    obs_shape, num_actions = net.observation_shape, net.num_actions

    def evaluate(observations: np.ndarray, legal_masks: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        observations, legal_masks = checked_inputs(observations, legal_masks, obs_shape,
                                                   num_actions)
        return net.forward(observations, legal_masks)

    return evaluate


def calibrate(config: NetworkConfig, observation_shape: tuple[int, int, int], num_actions: int,
              state: Mapping[str, np.ndarray], observations: np.ndarray
              ) -> dict[str, tuple[float, float]]:
    """(min, max) of every activation the int8 graph quantises, over ``observations``
    (float32[N, C, H, W], positions like those the network will see), from the float32 graph:
    the ``ranges`` of `onnx_graph`. A few hundred positions take tens of milliseconds."""
    import onnx
    import onnxruntime as ort

    model = onnx_graph(config, observation_shape, num_actions, state, expose=True)
    names = [o.name for o in onnx.load_from_string(model).graph.output][2:]
    session = ort.InferenceSession(model, session_options(1), providers=["CPUExecutionProvider"])
    masks = np.ones((len(observations), num_actions), np.bool_)
    low = {n: np.inf for n in names}
    high = {n: -np.inf for n in names}
    for start in range(0, len(observations), 256):
        batch = np.ascontiguousarray(observations[start:start + 256], np.float32)
        outs = session.run(names, {"observations": batch, "legal_masks": masks[:len(batch)]})
        for name, out in zip(names, outs):
            low[name], high[name] = min(low[name], float(out.min())), max(high[name],
                                                                          float(out.max()))
    return {n: (low[n], high[n]) for n in names}
