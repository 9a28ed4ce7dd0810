"""Weight publications to a self-play worker: memory stays bounded and the new weights are used.

Each `make_evaluate_fn` trace kept ~2-5 MB alive for the life of the process (TorchScript never
frees its compilation units); the actor built one per publication and grew ~200 MB a minute.
It now traces once (`LiveEvaluator`) and refreshes the weights in place; the ONNX Runtime
backend (the default) builds a new session per publication, which frees the old one.
"""

import gc

import numpy as np
import pytest
import torch

from alphazero.config import SelfPlayConfig, load_config
from games import get_game
from nets.torch_net import LiveEvaluator, NetworkConfig, PolicyValueNet, make_evaluate_fn
from nets.weights import numpy_weights
from search import SearchParams
from selfplay.actors import SelfPlayActor
from selfplay.inference import BatchEvaluator

TTT = get_game("tictactoe")
C4 = get_game("connect4")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status")


def eager_reference(network, game, weights):
    model = PolicyValueNet(network, game.observation_shape, game.num_actions)
    model.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
    return make_evaluate_fn(model, "cpu", num_threads=None, use_jit=False)


def positions(game, n=12, seed=0):
    rng = np.random.default_rng(seed)
    obs = rng.integers(0, 2, size=(n, *game.observation_shape)).astype(np.float32)
    legal = rng.random((n, game.num_actions)) < 0.7
    legal[:, 0] = True
    return obs, legal


def make_actor(backend="auto"):
    network = load_config("tictactoe").network
    config = SelfPlayConfig(games_per_worker=2, resign_threshold=-1.0, report_seconds=0.2)
    actor = SelfPlayActor("tictactoe", network, SearchParams(simulations=4), config,
                          worker_id=0, seed=0, backend=backend)
    return actor, network


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_publications_do_not_grow_the_worker(backend, random_bn_model):
    actor, network = make_actor(backend)
    assert actor.net.backend == backend
    weights = [numpy_weights(random_bn_model(network, TTT, seed)) for seed in range(4)]
    obs, legal = positions(TTT)
    for version in range(20):  # warm up: the first trace, allocator pools
        actor.set_weights(version, weights[version % 4])
        actor.worker.evaluate(obs, legal)
    gc.collect()
    before = rss_mb()
    for version in range(20, 320):  # 300 publications; ~2.1 MB each before the fix (~630 MB)
        actor.set_weights(version, weights[version % 4])
        actor.worker.evaluate(obs, legal)
    gc.collect()
    growth = rss_mb() - before
    assert growth < 50, f"RSS grew {growth:.0f} MB over 300 weight publications"
    assert actor.version == 319


@pytest.mark.parametrize("backend", ["auto", "numpy", "torch"])
def test_worker_evaluates_with_the_published_weights(backend, random_bn_model):
    actor, network = make_actor(backend)
    obs, legal = positions(TTT)
    for version in range(6):  # several updates: the one trace follows each
        weights = numpy_weights(random_bn_model(network, TTT, 100 + version))
        actor.set_weights(version, weights)
        logits, values = actor.worker.evaluate(obs, legal)
        want_logits, want_values = eager_reference(network, TTT, weights)(obs, legal)
        np.testing.assert_allclose(logits, want_logits, atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(values, want_values, atol=1e-5, rtol=1e-5)
    _, stats = actor.play()
    assert stats["moves"] > 0 and stats["version"] == 5


@pytest.mark.parametrize("use_jit", ["auto", "trace", "eager"])
def test_live_evaluator_follows_weight_updates(use_jit, random_bn_model):
    network = NetworkConfig(blocks=2, channels=16)
    model = PolicyValueNet(network, C4.observation_shape, C4.num_actions)
    live = LiveEvaluator(model, "cpu", num_threads=None, use_jit=use_jit)
    assert live.mode == ("eager" if use_jit == "eager" else "trace")
    obs, legal = positions(C4, n=64)
    for seed in range(5):
        weights = numpy_weights(random_bn_model(network, C4, seed))
        model.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
        live.refresh()
        logits, values = live(obs, legal)
        want_logits, want_values = eager_reference(network, C4, weights)(obs, legal)
        np.testing.assert_allclose(logits, want_logits, atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(values, want_values, atol=1e-5, rtol=1e-5)
        assert (logits[~legal] < -1e8).all()


def test_inference_server_core_follows_new_weights(random_bn_model):
    network = NetworkConfig(blocks=1, channels=16)
    core = BatchEvaluator(network, C4.observation_shape, C4.num_actions, "cpu")
    obs, legal = positions(C4)
    for version in range(3):
        weights = numpy_weights(random_bn_model(network, C4, 10 + version))
        core.set_weights(version, weights)
        [(logits, values)] = core.evaluate_many([(obs, legal)])
        want_logits, want_values = eager_reference(network, C4, weights)(obs, legal)
        np.testing.assert_allclose(logits, want_logits, atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(values, want_values, atol=1e-5, rtol=1e-5)
