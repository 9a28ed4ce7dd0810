"""The ONNX Runtime backend: the same network as torch's, int8 close to it, and the choice of
backend (`nets.backends`)."""

import numpy as np
import pytest
import torch

from games import get_game
from nets import backends
from nets.backends import BackendError, LiveNetwork, pick_backend, playout_observations
from nets.checkpoint import CheckpointError, network_shape, read_checkpoint_arrays
from nets.loader import SHIPPED_DIR, model_evaluate, new_model, resolve_evaluate
from nets.numpy_net import ILLEGAL_LOGIT
from nets.onnx_net import (
    OnnxPolicyValueNet,
    load_onnx_model,
    make_onnx_evaluate_fn,
    uint8_parameters,
)
from nets.torch_net import NetworkConfig, load_model, make_evaluate_fn
from nets.weights import numpy_weights


def positions(game, n, seed=0):
    observations = playout_observations(game, n, seed=seed)
    rng = np.random.default_rng(seed)
    masks = rng.random((n, game.num_actions)) < 0.6
    masks[:, 0] = True
    masks[-1] = False  # a row with no legal action: finite logits, no NaN
    return observations, masks


def _with_weights(model):
    return model, numpy_weights(model)


@pytest.mark.parametrize("game_name", ["tictactoe", "connect4", "chess"])
@pytest.mark.parametrize("batch", [1, 17])
def test_shipped_networks_equal_torch(game_name, batch):
    game = get_game(game_name)
    path = SHIPPED_DIR / f"{game_name}.pt"
    model, _ = load_model(path)
    torch_evaluate = make_evaluate_fn(model, "cpu", num_threads=None, use_jit=False)
    onnx_evaluate = make_onnx_evaluate_fn(load_onnx_model(path, game_name)[0])
    observations, masks = positions(game, batch)
    logits, values = onnx_evaluate(observations, masks)
    want_logits, want_values = torch_evaluate(observations, masks)
    assert logits.dtype == np.float32 and values.shape == (batch,)
    np.testing.assert_allclose(logits[masks], want_logits[masks], atol=1e-4, rtol=0)
    np.testing.assert_allclose(values, want_values, atol=1e-4, rtol=0)
    assert (logits[~masks] == np.float32(ILLEGAL_LOGIT)).all()
    assert np.isfinite(logits).all()


def test_set_weights_replaces_the_network(random_bn_model):
    game = get_game("connect4")
    network = NetworkConfig(blocks=2, channels=16, policy_channels=2, value_channels=2)
    observations, masks = positions(game, 9)
    model, state = _with_weights(random_bn_model(network, game, 0))
    net = OnnxPolicyValueNet(network, game.observation_shape, game.num_actions, state)
    evaluate = make_onnx_evaluate_fn(net)
    for seed in (1, 2):
        model, state = _with_weights(random_bn_model(network, game, seed))
        net.set_weights(state)
        want = make_evaluate_fn(model, "cpu", num_threads=None, use_jit=False)(observations,
                                                                                masks)
        for ours, theirs in zip(evaluate(observations, masks), want):
            np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    assert net.version == 2


def test_bad_shapes_are_named():
    game = get_game("tictactoe")
    evaluate = make_onnx_evaluate_fn(load_onnx_model(SHIPPED_DIR / "tictactoe.pt")[0])
    with pytest.raises(ValueError, match="observations must have shape"):
        evaluate(np.zeros((2, 3, 4, 4), np.float32), np.ones((2, 9), bool))
    with pytest.raises(ValueError, match="legal_masks must have shape"):
        evaluate(np.zeros((2, *game.observation_shape), np.float32), np.ones((2, 8), bool))


def test_weights_that_do_not_fit_are_a_checkpoint_error(tmp_path):
    checkpoint = torch.load(SHIPPED_DIR / "tictactoe.pt", weights_only=True)
    checkpoint["network"]["channels"] = 16  # the file's weights have 32
    path = tmp_path / "bad.pt"
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_onnx_model(path)
    with pytest.raises(CheckpointError, match="do not fit"):
        resolve_evaluate(get_game("tictactoe"), None, path, backend="onnx")


def test_uint8_parameters_cover_the_range_and_zero():
    scale, zero = uint8_parameters(0.0, 2.55)
    assert zero == 0 and scale == pytest.approx(0.01)  # a range from 0: the ReLU
    scale, zero = uint8_parameters(-1.0, 1.0)
    assert zero == 128 and scale == pytest.approx(2 / 255)
    assert uint8_parameters(0.5, 0.5) == (0.5 / 255, 0)  # widened to include 0
    assert uint8_parameters(0.0, 0.0) == (1.0, 0)


@pytest.mark.parametrize("game_name", ["connect4", "chess"])
def test_int8_network_stays_close_to_float(game_name):
    """The int8 network agrees with the float one on most first choices and on values; the
    measured effect on move quality is in BENCHMARKS.md (Inference engines)."""
    game = get_game(game_name)
    path = SHIPPED_DIR / f"{game_name}.pt"
    checkpoint = read_checkpoint_arrays(path)
    shape = network_shape(path, checkpoint, game_name)
    float_net = OnnxPolicyValueNet(*shape, checkpoint["model"])
    int8_net = OnnxPolicyValueNet(*shape, checkpoint["model"],
                                  calibration=playout_observations(game, 256, seed=0))
    assert int8_net.int8 and not float_net.int8
    observations = playout_observations(game, 300, seed=5)  # other positions than calibration
    masks = np.ones((300, game.num_actions), bool)
    want_logits, want_values = float_net.forward(observations, masks)
    logits, values = int8_net.forward(observations, masks)
    agreement = (logits.argmax(1) == want_logits.argmax(1)).mean()
    assert agreement > 0.85, agreement
    assert np.abs(values - want_values).mean() < 0.1
    assert not np.allclose(values, want_values, atol=1e-6)  # it is quantised


@pytest.mark.parametrize("backend", ["onnx", "numpy", "torch"])
def test_live_network_runs_the_latest_weights(backend, random_bn_model):
    game = get_game("connect4")
    network = NetworkConfig(blocks=1, channels=16)
    live = LiveNetwork(network, game.observation_shape, game.num_actions, backend=backend,
                       num_threads=None)
    assert live.backend == backend
    observations, masks = positions(game, 12)
    with pytest.raises(RuntimeError, match="no weights"):
        live.evaluate(observations, masks)
    for seed in range(3):
        model, state = _with_weights(random_bn_model(network, game, seed))
        live.set_weights(state)
        want = make_evaluate_fn(model, "cpu", num_threads=None, use_jit=False)(observations,
                                                                                masks)
        for ours, theirs in zip(live(observations, masks), want):
            np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    assert live.version == 2


def test_model_evaluate_hands_the_weights_to_the_backend(random_bn_model):
    game = get_game("connect4")
    model, _ = _with_weights(random_bn_model(NetworkConfig(blocks=1, channels=16), game, 4))
    observations, masks = positions(game, 6)
    want = make_evaluate_fn(model, "cpu", num_threads=None, use_jit=False)(observations, masks)
    for backend in ("auto", "onnx", "numpy", "torch"):
        got = model_evaluate(model, backend=backend, num_threads=None)(observations, masks)
        for ours, theirs in zip(got, want):
            np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="needs the game"):
        model_evaluate(model, backend="onnx-int8")


def test_backend_choice(monkeypatch):
    assert pick_backend("auto") == "onnx"
    assert pick_backend("auto", "cuda:0") == "torch"
    assert pick_backend("numpy") == "numpy"
    with pytest.raises(BackendError, match="backend must be one of"):
        pick_backend("jax")
    with pytest.raises(BackendError, match="CPU only"):
        pick_backend("onnx-int8", "cuda")
    monkeypatch.setattr(backends, "onnx_available", lambda: False)
    assert pick_backend("auto") == "torch"
    with pytest.raises(BackendError, match="pip install onnxruntime"):
        pick_backend("onnx")


def test_int8_live_network_needs_calibration():
    with pytest.raises(ValueError, match="calibration"):
        LiveNetwork(NetworkConfig(), (3, 6, 7), 7, backend="onnx-int8")


def test_fresh_network_in_onnx_equals_torch():
    game = get_game("tictactoe")
    network = NetworkConfig(blocks=1, channels=8)
    evaluate, source = resolve_evaluate(game, network, fresh=True, backend="onnx", seed=2)
    assert source.endswith("(onnx)")
    model = new_model(network, game.observation_shape, game.num_actions, seed=2)
    observations, masks = positions(game, 5)
    want = make_evaluate_fn(model, "cpu", num_threads=None, use_jit=False)(observations, masks)
    for ours, theirs in zip(evaluate(observations, masks), want):
        np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
