"""The inference server's CPU path: batching requests and serving self-play workers."""

import numpy as np
import pytest
import ray
import torch

from alphazero.config import SelfPlayConfig
from games import get_game
from nets.torch_net import NetworkConfig, PolicyValueNet, make_evaluate_fn
from nets.weights import numpy_weights
from search import SearchParams
from selfplay.actors import start_inference_server, start_workers
from selfplay.inference import BatchEvaluator

C4 = get_game("connect4")
NET = NetworkConfig(blocks=1, channels=8, policy_channels=2, value_channels=1, value_hidden=8)


def reference():
    torch.manual_seed(0)
    model = PolicyValueNet(NET, C4.observation_shape, C4.num_actions).eval()
    return numpy_weights(model), make_evaluate_fn(model, num_threads=1, use_jit=False)


def requests(sizes, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        obs = rng.integers(0, 2, size=(n, *C4.observation_shape)).astype(np.float32)
        legal = rng.random((n, C4.num_actions)) < 0.8
        out.append((obs, legal))
    return out


def test_batch_evaluator_matches_separate_calls():
    weights, evaluate = reference()
    core = BatchEvaluator(NET, C4.observation_shape, C4.num_actions, "cpu")
    with pytest.raises(RuntimeError, match="no weights"):
        core.evaluate_many(requests([1]))
    core.set_weights(1, weights)
    batch = requests([3, 1, 5])
    answers = core.evaluate_many(batch)
    assert core.calls == 1 and core.requests == 3
    for (obs, legal), (logits, values) in zip(batch, answers):
        want_logits, want_values = evaluate(obs, legal)
        np.testing.assert_allclose(logits, want_logits, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(values, want_values, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=1 << 28)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_server_actor_batches_clients_and_serves_workers(local_ray):
    weights, evaluate = reference()
    server = start_inference_server("connect4", NET, device="auto", clients=2, max_wait_s=5.0)
    assert ray.get(server.device.remote()) == "cpu"  # CPU fallback on this machine
    ray.get(server.set_weights.remote(1, weights))
    batch = requests([4, 6], seed=1)
    answers = ray.get([server.evaluate.remote(obs, legal) for obs, legal in batch])
    assert ray.get(server.stats.remote())["calls"] == 1  # both clients in one network call
    for (obs, legal), (logits, values) in zip(batch, answers):
        np.testing.assert_allclose(logits, evaluate(obs, legal)[0], rtol=1e-4, atol=1e-4)

    config = SelfPlayConfig(games_per_worker=4, report_seconds=0.5, resign_threshold=-1.0)
    server = start_inference_server("connect4", NET, device="cpu", clients=2, max_wait_s=0.002)
    ray.get(server.set_weights.remote(1, weights))
    workers = start_workers(
        2, "connect4", NET, SearchParams(simulations=4), config, seed=0, server=server
    )
    ray.get([w.set_weights.remote(1, None) for w in workers])
    results = ray.get([w.play.remote() for w in workers])
    assert all(stats["moves"] >= 4 and stats["version"] == 1 for _, stats in results)
    assert ray.get(server.stats.remote())["requests"] > 2
