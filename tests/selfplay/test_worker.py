"""SelfPlayWorker without Ray: trajectory shapes, value targets, resignation accounting."""

import dataclasses

import numpy as np
import pytest

from alphazero.config import SelfPlayConfig
from games import get_game
from search import SearchParams, uniform_evaluate
from selfplay.worker import SelfPlayWorker

TTT = get_game("tictactoe")
C4 = get_game("connect4")


def make_worker(game=TTT, evaluate=uniform_evaluate, sims=16, arm="puct", seed=0, **selfplay):
    config = SelfPlayConfig(**{"games_per_worker": 4, "resign_threshold": -1.0, **selfplay})
    return SelfPlayWorker(
        game, evaluate, SearchParams(arm=arm, simulations=sims), config, seed=seed
    )


def split_games(trajectories):
    bounds = np.cumsum(trajectories["game_lengths"])[:-1]
    return [np.split(trajectories[key], bounds) for key in ("values", "observations")]


@pytest.mark.parametrize("arm", ["puct", "gumbel"])
def test_trajectory_shapes_and_policies(arm):
    worker = make_worker(arm=arm)
    traj, stats = worker.play(moves=12)
    t = traj["values"].shape[0]
    assert stats["games"] == len(traj["game_lengths"]) > 0
    assert traj["game_lengths"].sum() == t == stats["positions"]
    assert traj["observations"].shape == (t, 3, 3, 3) and traj["observations"].dtype == np.float32
    assert traj["policies"].shape == (t, 9) and traj["legal_masks"].shape == (t, 9)
    np.testing.assert_allclose(traj["policies"].sum(axis=1), 1.0, atol=1e-5)
    assert not (traj["policies"][~traj["legal_masks"]] > 0).any()  # no mass on illegal moves
    assert set(np.unique(traj["values"])) <= {-1.0, 0.0, 1.0}
    assert stats["simulations"] == 12 * 4 * 16  # every game searched every move
    assert (
        stats["first_player_wins"] + stats["draws"] + stats["second_player_wins"] == stats["games"]
    )


def test_value_targets_alternate_and_winner_moved_last():
    traj, _ = make_worker(seed=3).play(moves=20)
    for values, observations in zip(*split_games(traj)):
        assert (values[:-1] == -values[1:]).all() or (values == 0).all()
        assert observations[0].sum() == 9  # a game starts on the empty board (ones plane only)
        if values[-1] != 0:
            assert values[-1] == 1.0  # the last recorded move (no resignation) was the winner's


def test_connect4_games_and_tree_reuse():
    worker = make_worker(game=C4, sims=8, games_per_worker=3)
    traj, stats = worker.play(moves=3)
    assert traj["values"].shape == (0,) and stats["games"] == 0  # nothing finished yet
    assert stats["moves"] == 9
    # advance() kept each chosen child's subtree (set_roots would have emptied the tree):
    # the next search starts from an evaluated root with visits.
    assert (worker.mcts.tree.num_nodes >= 1).all()
    assert (worker.mcts.tree.visits[:, 0] > 0).all()


def x_is_lost(observations, legal):
    """Value -0.99 when X (the first player) is to move, +0.99 when O is."""
    own = observations[:, 0].sum(axis=(1, 2))
    opponent = observations[:, 1].sum(axis=(1, 2))
    values = np.where(own == opponent, -0.99, 0.99).astype(np.float32)
    return np.zeros(legal.shape, np.float32), values


def test_resignation_ends_games():
    worker = make_worker(evaluate=x_is_lost, resign_threshold=-0.9, resign_playthrough=0.0)
    traj, stats = worker.play(moves=5)
    assert stats["resignations"] == stats["games"] == 5 * 4  # X resigns at once, every game
    assert stats["second_player_wins"] == stats["games"] and stats["moves"] == 0
    assert (traj["game_lengths"] == 1).all() and (traj["values"] == -1.0).all()
    assert stats["resign_checks"] == 0


def test_playthrough_counts_false_resignations():
    worker = make_worker(evaluate=x_is_lost, resign_threshold=-0.9, resign_playthrough=1.0)
    _, stats = worker.play(moves=30)
    assert stats["resignations"] == 0 and stats["games"] > 0
    assert stats["resign_checks"] == stats["games"]  # X wanted to resign in every game
    # A false positive is a game X did not lose.
    assert stats["false_positives"] == stats["first_player_wins"] + stats["draws"]


def test_playout_cap_randomisation_records_only_full_searches():
    worker = make_worker(fast_simulations=2, full_search_share=0.5, seed=1)
    _traj, stats = worker.play(moves=40)
    assert 0 < stats["positions"] < stats["moves"]
    assert stats["simulations"] < 40 * 4 * 16


def test_play_needs_exactly_one_limit():
    worker = make_worker()
    with pytest.raises(ValueError):
        worker.play()
    _, stats = worker.play(seconds=0.01)
    assert stats["moves"] >= 4  # at least one move in every game


def test_set_evaluate_is_used():
    calls = []

    def counting(obs, legal):
        calls.append(len(obs))
        return uniform_evaluate(obs, legal)

    worker = make_worker()
    worker.set_evaluate(counting)
    worker.play(moves=1)
    assert calls and max(calls) <= 4  # one leaf per tree per network call


def test_selfplay_simulations_override_the_search_budget():
    worker = make_worker(sims=64, simulations=8)
    _, stats = worker.play(moves=2)
    assert stats["simulations"] == 2 * 4 * 8


def learned_weights(seed=0):
    """A fresh learned search whose last layer is not zero, so it differs from PUCT."""
    import torch

    from nets.search_weights import LearnedSearch

    learned = LearnedSearch.fresh(seed, game="tictactoe")
    torch.nn.init.normal_(learned.selection.l3.weight, std=0.5)
    torch.nn.init.normal_(learned.readout.l3.weight, std=0.5)
    return learned.weights()


def linear_evaluate(observations, legal):
    """A fixed random linear 'network': children differ, so a learned rule can tell them apart."""
    rng = np.random.default_rng(0)
    flat = observations.reshape(len(observations), -1)
    policy = rng.normal(size=(flat.shape[1], legal.shape[1]))
    value = rng.normal(size=flat.shape[1])
    return (flat @ policy).astype(np.float32), np.tanh(flat @ value / 4).astype(np.float32)


def test_learned_arm_plays_self_play_games():
    config = SelfPlayConfig(games_per_worker=4, resign_threshold=-1.0, temperature_moves=0)
    params = SearchParams(arm="learned", simulations=16)
    worker = SelfPlayWorker(TTT, linear_evaluate, params, config, seed=0,
                            learned=learned_weights())
    traj, stats = worker.play(moves=12)
    assert stats["games"] > 0 and stats["simulations"] == 12 * 4 * 16
    np.testing.assert_allclose(traj["policies"].sum(axis=1), 1.0, atol=1e-5)
    assert not (traj["policies"][~traj["legal_masks"]] > 0).any()
    # The learned rule steered the search: the first move's visits differ from PUCT's.
    puct = SelfPlayWorker(TTT, linear_evaluate, dataclasses.replace(params, arm="puct"),
                          config, seed=0)
    first = SelfPlayWorker(TTT, linear_evaluate, params, config, seed=0,
                           learned=learned_weights())
    policy_puct = puct.mcts.run(simulations=16).policy
    policy_learned = first.mcts.run(simulations=16).policy
    assert not np.allclose(policy_puct, policy_learned)


def test_learned_arm_needs_its_weights():
    with pytest.raises(ValueError, match="learned search arm needs its weights"):
        make_worker(arm="learned")


def test_actor_class_takes_learned_weights_as_arrays():
    """The plain actor class (no Ray) builds its learned search from the arrays it is sent."""
    from alphazero.config import load_config
    from nets.torch_net import PolicyValueNet
    from nets.weights import numpy_weights
    from selfplay.actors import SelfPlayActor, learned_arrays

    network = load_config("tictactoe").network
    config = SelfPlayConfig(games_per_worker=2, resign_threshold=-1.0, report_seconds=0.2)
    arrays = learned_arrays(learned_weights())
    assert set(arrays) == {"selection", "readout", "target", "backup"}
    assert all(isinstance(a, np.ndarray) for a in arrays.values())
    actor = SelfPlayActor("tictactoe", network, SearchParams(arm="learned", simulations=4),
                          config, worker_id=0, seed=0, learned=arrays)
    np.testing.assert_array_equal(actor.worker.mcts.learned.selection, arrays["selection"])
    model = PolicyValueNet(network, TTT.observation_shape, TTT.num_actions)
    actor.set_weights(1, numpy_weights(model))
    _, stats = actor.play()
    assert stats["moves"] > 0 and stats["version"] == 1


def test_value_target_mixes_outcome_and_search_value():
    # value_target_q changes only the targets, not the games: same seed, same games.
    outcome, searched, mixed = (
        make_worker(seed=5, value_target_q=w).play(moves=20)[0]["values"] for w in (0.0, 1.0, 0.5)
    )
    assert set(np.unique(outcome)) <= {-1.0, 0.0, 1.0}
    assert not set(np.unique(searched)) <= {-1.0, 0.0, 1.0}  # root values, not outcomes
    np.testing.assert_allclose(mixed, 0.5 * outcome + 0.5 * searched, atol=1e-6)


def _games_by_opening(noise_moves):
    worker = make_worker(arm="gumbel", sims=8, seed=2, games_per_worker=16, noise_moves=noise_moves)
    traj, _ = worker.play(moves=40)
    values, observations = split_games(traj)
    games = {}
    for v, obs in zip(values, observations):
        games.setdefault(obs[1].tobytes(), []).append((len(v), v.tobytes(), obs.tobytes()))
    return [set(g) for g in games.values() if len(g) > 1]


def test_gumbel_noise_only_in_the_opening_makes_the_rest_greedy():
    # noise_moves=1: only the first move is random, so games that share it are identical.
    groups = _games_by_opening(noise_moves=1)
    assert groups and all(len(g) == 1 for g in groups)
    # With noise on every move (the default) some games with the same first move differ.
    assert any(len(g) > 1 for g in _games_by_opening(noise_moves=0))


def _first_positions_stones(**selfplay):
    worker = make_worker(game=C4, sims=4, seed=3, games_per_worker=16, **selfplay)
    traj, stats = worker.play(moves=60)
    _values, observations = split_games(traj)
    return [int(obs[0][:2].sum()) for obs in observations], stats


def test_random_opening_plies_are_played_and_not_recorded():
    stones, stats = _first_positions_stones(random_opening_plies=3)
    assert set(stones) == {0, 1, 2, 3}  # each game starts recording after its random plies
    assert stats["positions"] == int(np.sum(stats["game_lengths"])) - sum(stones)
    plain, _ = _first_positions_stones()
    assert set(plain) == {0}


def test_random_opening_plies_must_not_be_negative():
    with pytest.raises(ValueError, match="random_opening_plies"):
        SelfPlayConfig(random_opening_plies=-1)


def test_training_roots_are_a_share_of_the_searched_positions():
    """With root_share the worker also returns game states it searched (training roots for
    the learned search); without it nothing changes, the random stream included."""
    plain = make_worker(game=get_game("connect4"), sims=4)
    none = SelfPlayWorker(get_game("connect4"), uniform_evaluate, SearchParams(simulations=4),
                          SelfPlayConfig(games_per_worker=4, resign_threshold=-1.0), seed=0,
                          root_share=0.0)
    first, _ = plain.play(moves=30)
    again, _ = none.play(moves=30)
    assert "roots" not in first and "roots" not in again
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    sharing = SelfPlayWorker(get_game("connect4"), uniform_evaluate, SearchParams(simulations=4),
                             SelfPlayConfig(games_per_worker=4, resign_threshold=-1.0), seed=0,
                             root_share=0.5)
    traj, stats = sharing.play(moves=30)
    roots = traj["roots"]
    assert roots.dtype == np.int64 and roots.shape[1:] == np.shape(
        get_game("connect4").initial_state())
    assert 0.3 * 4 * 30 < len(roots) < 0.7 * 4 * 30  # half of 4 games x 30 searched moves
    assert sharing.play(moves=1)[0]["roots"].shape[0] <= 4  # taken once, not sent again


def test_a_trained_target_map_sets_the_recorded_policies():
    from search.learned import LearnedWeights

    worker = SelfPlayWorker(TTT, uniform_evaluate, SearchParams(arm="learned", simulations=8),
                            SelfPlayConfig(games_per_worker=4, resign_threshold=-1.0), seed=0,
                            learned=LearnedWeights())
    worker.set_learned(LearnedWeights(target=np.array([1.0, 1.0, 0.0, 0.0])))  # the prior
    traj, _ = worker.play(moves=9)
    obs, legal = traj["observations"], traj["legal_masks"]
    prior = np.exp(uniform_evaluate(obs, legal)[0])
    prior = np.where(legal, prior, 0) / np.where(legal, prior, 0).sum(1, keepdims=True)
    np.testing.assert_allclose(traj["policies"], prior, atol=1e-6)  # uniform over legal moves
