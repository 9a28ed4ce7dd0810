"""Replay buffer: bounded ring, save/load round trip, symmetries, sparse policies."""

import numpy as np
import pytest

from alphazero.train.replay import ReplayBuffer, Symmetries
from games import get_game

TTT = get_game("tictactoe")
C4 = get_game("connect4")


def positions(n, shape=(3, 3, 3), actions=9, start=0, seed=0):
    rng = np.random.default_rng(seed)
    obs = rng.integers(0, 2, size=(n, *shape)).astype(np.float32)
    legal = rng.random((n, actions)) < 0.7
    legal[:, 0] = True
    policy = rng.random((n, actions)).astype(np.float32) * legal
    policy /= policy.sum(axis=1, keepdims=True)
    values = (np.arange(start, start + n) % 3 - 1).astype(np.float32)
    return obs, policy, values, legal


def assert_same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_bounded_fifo_keeps_newest():
    buffer = ReplayBuffer(10, (3, 3, 3), 9)
    batches = [positions(7, start=7 * i, seed=i) for i in range(4)]
    for batch in batches:
        buffer.add(*batch)
    assert len(buffer) == 10 and buffer.total_added == 28
    newest = [np.concatenate([b[k] for b in batches])[-10:] for k in range(4)]
    obs, policy, values, legal = buffer.contents()
    np.testing.assert_array_equal(obs, newest[0])
    np.testing.assert_allclose(policy, newest[1], rtol=1e-6)
    np.testing.assert_array_equal(values, newest[2])
    np.testing.assert_array_equal(legal, newest[3])
    buffer.add(*positions(25, seed=9))  # more than the capacity at once
    assert len(buffer) == 10 and buffer.total_added == 53
    np.testing.assert_array_equal(buffer.contents()[2], positions(25, seed=9)[2][-10:])


def test_save_load_round_trip(tmp_path):
    buffer = ReplayBuffer(16, (3, 3, 3), 9)
    buffer.add(*positions(11, seed=1))
    buffer.add(*positions(9, seed=2))  # wrapped around
    path = tmp_path / "replay.npz"
    buffer.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["replay.npz"]  # no temporary file left
    loaded = ReplayBuffer.load(path)
    assert (loaded.capacity, len(loaded), loaded.total_added) == (16, 16, 20)
    assert_same(loaded.contents(), buffer.contents())
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    smaller = ReplayBuffer.load(path, capacity=5)
    assert_same(smaller.contents(), [x[-5:] for x in buffer.contents()])
    assert len(buffer.sample(8, rng_a)[0]) == 8 and len(loaded.sample(8, rng_b)[0]) == 8


def test_load_rejects_corrupt_file(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="unreadable"):
        ReplayBuffer.load(path)


@pytest.mark.parametrize("game", [TTT, C4])
def test_symmetries_match_the_game(game):
    symmetries = Symmetries(game)
    obs, policy = positions(1, game.observation_shape, game.num_actions)[:2]
    assert (
        len(symmetries)
        == len(game.symmetries(obs[0], policy[0]))
        == {"tictactoe": 8, "connect4": 2}[game.name]
    )
    obs, policy, _, legal = positions(6, game.observation_shape, game.num_actions, seed=4)
    which = np.arange(6) % len(symmetries)
    new_obs, new_policy, new_legal = symmetries.apply(obs, policy, legal, which)
    for i in range(6):
        want_obs, want_policy = game.symmetries(obs[i], policy[i])[which[i]]
        np.testing.assert_array_equal(new_obs[i], want_obs)
        np.testing.assert_array_equal(new_policy[i], want_policy)
        np.testing.assert_array_equal(new_legal[i], game.symmetries(obs[i], legal[i])[which[i]][1])


def test_sample_applies_symmetries_consistently():
    buffer = ReplayBuffer(50, (3, 3, 3), 9)
    buffer.add(*positions(50, seed=3))
    obs, policy, values, legal = buffer.sample(200, np.random.default_rng(0), Symmetries(TTT))
    assert obs.shape == (200, 3, 3, 3) and policy.shape == (200, 9) and values.shape == (200,)
    assert not (policy[~legal] > 0).any()  # policy and mask moved together
    np.testing.assert_allclose(policy.sum(axis=1), 1.0, rtol=1e-5)


def test_large_action_spaces_store_the_top_entries():
    buffer = ReplayBuffer(4, (1, 2, 2), 600)
    policy = np.zeros((2, 600), np.float32)
    policy[0, :300] = 1 / 300  # more entries than stored: the largest 256, renormalised
    policy[1, [5, 599]] = [0.25, 0.75]
    buffer.add(np.zeros((2, 1, 2, 2), np.float32), policy, np.zeros(2, np.float32), policy > 0)
    _, stored, _, legal = buffer.contents()
    assert (stored[0] > 0).sum() == 256 and stored[0].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(stored[1], policy[1])
    assert legal[0].sum() == 300 and legal[1].sum() == 2
