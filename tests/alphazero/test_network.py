import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nets.torch_net import (
    ILLEGAL_LOGIT,
    JIT_MODES,
    NetworkConfig,
    PolicyValueNet,
    make_evaluate_fn,
    select_device,
)

# (observation_shape, num_actions) of tic-tac-toe, Connect Four and chess.
GAME_SHAPES = {
    "tictactoe": ((3, 3, 3), 9),
    "connect4": ((3, 6, 7), 7),
    "chess": ((21, 8, 8), 4672),
}
SMALL = NetworkConfig(blocks=2, channels=16, value_hidden=16)


@pytest.fixture(autouse=True)
def restore_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def make_net(random_bn_model):
    """``make_net(game, config, seed)``: a net with random weights *and* random BatchNorm
    statistics (the shared ``random_bn_model``), so BN folding is exercised."""
    def make(game: str, config: NetworkConfig = SMALL, seed: int = 0) -> PolicyValueNet:
        shape, num_actions = GAME_SHAPES[game]
        return random_bn_model(config, SimpleNamespace(observation_shape=shape,
                                                       num_actions=num_actions), seed)
    return make


def random_batch(game: str, batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape, num_actions = GAME_SHAPES[game]
    observations = rng.integers(0, 2, size=(batch, *shape)).astype(np.float32)
    masks = rng.random((batch, num_actions)) < 0.4
    masks[np.arange(batch), rng.integers(0, num_actions, size=batch)] = True  # >= 1 legal
    return observations, masks


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def test_config_is_frozen_with_defaults():
    config = NetworkConfig()
    assert (config.blocks, config.channels, config.policy_channels) == (5, 64, 2)
    assert (config.value_channels, config.value_hidden) == (1, 64)
    with pytest.raises(AttributeError):
        config.blocks = 3  # type: ignore[misc]


@pytest.mark.parametrize("game", sorted(GAME_SHAPES))
def test_forward_shapes(make_net, game):
    shape, num_actions = GAME_SHAPES[game]
    net = make_net(game)
    logits, value = net(torch.zeros(5, *shape))
    assert logits.shape == (5, num_actions)
    assert value.shape == (5,)


@pytest.mark.parametrize("game", sorted(GAME_SHAPES))
@pytest.mark.parametrize("use_jit", [False, True, "mkldnn"])
def test_evaluate_shapes_dtypes_and_value_range(make_net, game, use_jit):
    shape, num_actions = GAME_SHAPES[game]
    evaluate = make_evaluate_fn(make_net(game), use_jit=use_jit)
    observations, masks = random_batch(game, 6)
    observations *= 50.0  # large inputs push the value towards the tanh's ends
    logits, values = evaluate(observations, masks)
    assert logits.shape == (6, num_actions) and logits.dtype == np.float32
    assert values.shape == (6,) and values.dtype == np.float32
    assert logits.flags.c_contiguous and values.flags.c_contiguous
    assert np.all(np.abs(values) <= 1.0)


def test_default_config_connect4_net_runs():
    shape, num_actions = GAME_SHAPES["connect4"]
    evaluate = make_evaluate_fn(PolicyValueNet(NetworkConfig(), shape, num_actions))
    logits, values = evaluate(*random_batch("connect4", 3))
    assert logits.shape == (3, num_actions) and values.shape == (3,)


@pytest.mark.parametrize("use_jit", [False, True])
def test_evaluate_masks_illegal_moves(make_net, use_jit):
    evaluate = make_evaluate_fn(make_net("connect4"), use_jit=use_jit)
    observations, masks = random_batch("connect4", 16)
    logits, _ = evaluate(observations, masks)
    assert np.all(logits[~masks] == np.float32(ILLEGAL_LOGIT))
    probabilities = softmax(logits)
    assert np.all(probabilities[~masks] == 0.0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("use_jit", [False, True])
def test_evaluate_all_illegal_row_gives_no_nan(make_net, use_jit):
    evaluate = make_evaluate_fn(make_net("tictactoe"), use_jit=use_jit)
    observations, masks = random_batch("tictactoe", 4)
    masks[2] = False  # a terminal position: no legal move
    logits, values = evaluate(observations, masks)
    probabilities = softmax(logits)
    assert np.all(np.isfinite(logits)) and np.all(np.isfinite(values))
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities[2], 1.0 / 9, rtol=1e-5)


@pytest.mark.parametrize("game", sorted(GAME_SHAPES))
@pytest.mark.parametrize("mode", [m for m in JIT_MODES if m != "eager"])
def test_jit_agrees_with_eager(make_net, game, mode):
    net = make_net(game)
    observations, masks = random_batch(game, 33, seed=1)
    eager_logits, eager_values = make_evaluate_fn(net, use_jit=False)(observations, masks)
    jit_logits, jit_values = make_evaluate_fn(net, use_jit=mode)(observations, masks)
    np.testing.assert_allclose(jit_logits, eager_logits, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(jit_values, eager_values, atol=1e-5, rtol=1e-5)
    # The traced net takes any batch size, not only the one it was traced with.
    one_logits, one_values = make_evaluate_fn(net, use_jit=mode)(observations[:1], masks[:1])
    np.testing.assert_allclose(one_logits, eager_logits[:1], atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(one_values, eager_values[:1], atol=1e-5, rtol=1e-5)


def test_auto_jit_agrees_with_eager(make_net):
    net = make_net("connect4")
    observations, masks = random_batch("connect4", 8)
    eager = make_evaluate_fn(net, use_jit=False)(observations, masks)
    auto = make_evaluate_fn(net, use_jit="auto")(observations, masks)
    for a, b in zip(auto, eager):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def test_evaluate_is_batch_independent(make_net):
    evaluate = make_evaluate_fn(make_net("connect4"), use_jit=False)
    observations, masks = random_batch("connect4", 8)
    logits, values = evaluate(observations, masks)
    for i in range(8):
        one_logits, one_values = evaluate(observations[i : i + 1], masks[i : i + 1])
        np.testing.assert_allclose(one_logits[0], logits[i], atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(one_values[0], values[i], atol=1e-5)


@pytest.mark.parametrize(
    "obs_shape, mask_shape, expected",
    [
        ((4, 3, 7, 6), (4, 7), r"observations must have shape \[B, 3, 6, 7\]"),
        ((3, 6, 7), (1, 7), r"observations must have shape \[B, 3, 6, 7\]"),
        ((4, 2, 6, 7), (4, 7), r"got \[4, 2, 6, 7\]"),
        ((4, 3, 6, 7), (4, 9), r"legal_masks must have shape \[4, 7\]"),
        ((4, 3, 6, 7), (5, 7), r"legal_masks must have shape \[4, 7\], got \[5, 7\]"),
        ((4, 3, 6, 7), (4,), r"legal_masks must have shape \[4, 7\]"),
    ],
)
def test_evaluate_rejects_wrong_shapes(make_net, obs_shape, mask_shape, expected):
    evaluate = make_evaluate_fn(make_net("connect4"), use_jit=False)
    with pytest.raises(ValueError, match=expected):
        evaluate(np.zeros(obs_shape, np.float32), np.ones(mask_shape, bool))


def test_evaluate_accepts_read_only_and_non_contiguous_arrays(make_net):
    evaluate = make_evaluate_fn(make_net("connect4"), use_jit=False)
    observations, masks = random_batch("connect4", 4)
    expected = evaluate(observations, masks)
    frozen = observations.copy()
    frozen.flags.writeable = False  # as arrays come out of Ray's object store
    transposed = np.ascontiguousarray(observations.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    for obs in (frozen, transposed):
        logits, values = evaluate(obs, masks)
        np.testing.assert_array_equal(logits, expected[0])
        np.testing.assert_array_equal(values, expected[1])


def test_make_evaluate_fn_sets_threads_and_eval_mode(make_net):
    net = make_net("tictactoe").train()
    make_evaluate_fn(net, num_threads=1, use_jit=False)
    assert torch.get_num_threads() == 1
    assert not net.training


def test_make_evaluate_fn_rejects_unknown_jit_mode(make_net):
    with pytest.raises(ValueError, match="use_jit"):
        make_evaluate_fn(make_net("tictactoe"), use_jit="fast")


def test_network_can_learn_a_fixed_batch():
    torch.manual_seed(0)
    shape, num_actions = GAME_SHAPES["connect4"]
    net = PolicyValueNet(SMALL, shape, num_actions).train()
    observations, masks = random_batch("connect4", 32)
    x = torch.from_numpy(observations)
    target_actions = torch.randint(0, num_actions, (32,))
    target_values = torch.rand(32) * 2 - 1
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

    def loss_fn() -> torch.Tensor:
        logits, values = net(x)
        return F.cross_entropy(logits, target_actions) + F.mse_loss(values, target_values)

    initial = loss_fn().item()
    for _ in range(30):
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        optimizer.step()
    assert loss_fn().item() < 0.7 * initial


def test_select_device_cpu_and_auto():
    assert select_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device("auto").type == expected
    with pytest.raises(ValueError, match="device"):
        select_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_select_device_cuda_falls_back_to_cpu(caplog):
    with caplog.at_level(logging.WARNING, logger="nets.torch_net"):
        assert select_device("cuda") == torch.device("cpu")
    assert "CUDA is not available" in caplog.text
