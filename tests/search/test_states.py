"""search_states, the one chunked "search these states" loop, against the loop it replaced."""

from dataclasses import fields

import numpy as np
import pytest

from games import get_game, random_states
from search import BatchedMCTS, SearchParams, SearchResult
from search.learned import READOUT_SIZE, SELECTION_SIZE, LearnedWeights
from search.states import chunks, search_chunks, search_states

C4 = get_game("connect4")


def biased_evaluate(obs, legal):
    """Deterministic and position-dependent, so the trees differ."""
    logits = np.where(legal, obs[:, 0].sum(axis=1) * 0.3 - obs[:, 1].sum(axis=1) * 0.2, -1e9)
    values = np.tanh(obs[:, 0, :, 3].sum(axis=1) - obs[:, 1, :, 3].sum(axis=1)) * 0.5
    return logits.astype(np.float32), values.astype(np.float32)


def c4_states(count, seed=0):
    return random_states(C4, count, np.random.default_rng(seed), plies=(0, 10))


def learned_weights(seed=0):
    rng = np.random.default_rng(seed)
    return LearnedWeights(rng.normal(0, 0.3, SELECTION_SIZE), rng.normal(0, 0.3, READOUT_SIZE))


def hand_loop(params, states, batch_size, seed, learned=None, noise=False):
    """The loop as analyse, SearchAgent, ArmAgent and search_positions each wrote it."""
    width = min(batch_size, len(states))
    mcts = BatchedMCTS(C4, biased_evaluate, params, batch_size=width, seed=seed, learned=learned)
    parts, lines = [], []
    for start in range(0, len(states), width):
        chunk = states[start:start + width]
        mcts.set_roots(chunk)
        result = mcts.run(simulations=params.simulations, add_noise=noise,
                          active=np.arange(width) < len(chunk))
        parts.append({f.name: getattr(result, f.name)[:len(chunk)] for f in fields(SearchResult)})
        lines += [mcts.principal_variation(b, first_action=int(result.action[b]))
                  for b in range(len(chunk))]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}, lines


@pytest.mark.parametrize("arm, k, batch_size, noise", [
    ("puct", 1, 4, False), ("puct", 4, 64, True), ("gumbel", 1, 3, True), ("gumbel", 2, 5, False),
    ("learned", 1, 5, False), ("learned", 3, 7, True)])
def test_search_states_is_the_hand_written_loop_bit_for_bit(arm, k, batch_size, noise):
    params = SearchParams(arm=arm, simulations=40, leaves_per_step=k)
    states = c4_states(13, seed=1)
    learned = learned_weights() if arm == "learned" else None
    expected, lines = hand_loop(params, states, batch_size, seed=3, learned=learned, noise=noise)
    got = search_states(C4, biased_evaluate, params, states, batch_size=batch_size, seed=3,
                        learned=learned, add_noise=noise, pv_length=12)
    for name, array in expected.items():
        assert getattr(got, name).dtype == array.dtype, name
        np.testing.assert_array_equal(getattr(got, name), array, err_msg=name)
    assert got.principal_variations == lines
    assert got.seconds > 0


def test_one_chunk_by_default_and_no_lines_unless_asked():
    params = SearchParams(simulations=24)
    states = c4_states(5, seed=2)
    expected, _ = hand_loop(params, states, len(states), seed=0)
    got = search_states(C4, biased_evaluate, params, states, seed=0)
    np.testing.assert_array_equal(got.visits, expected["visits"])
    assert got.principal_variations == []


def test_a_kept_searcher_runs_its_random_stream_on_across_calls():
    """An agent keeps one BatchedMCTS from move to move: its noise continues, as before."""
    params = SearchParams(arm="gumbel", simulations=16)
    states = c4_states(8, seed=4)
    mcts = BatchedMCTS(C4, biased_evaluate, params, batch_size=4, seed=9)
    first = search_chunks(mcts, states[:4], add_noise=True)
    second = search_chunks(mcts, states[4:], add_noise=True)
    together = search_states(C4, biased_evaluate, params, states, batch_size=4, seed=9,
                             add_noise=True)
    np.testing.assert_array_equal(np.concatenate([first.visits, second.visits]),
                                  together.visits)
    np.testing.assert_array_equal(np.concatenate([first.action, second.action]),
                                  together.action)


def test_chunks_sets_the_roots_and_marks_the_active_trees():
    states = c4_states(7, seed=5)
    mcts = BatchedMCTS(C4, biased_evaluate, SearchParams(simulations=4), batch_size=3)
    seen = [(start, count, active.tolist()) for start, count, active in chunks(mcts, states)]
    assert seen == [(0, 3, [True] * 3), (3, 3, [True] * 3), (6, 1, [True, False, False])]
    assert (mcts.root_states[0] == states[6]).all()


def test_no_states_gives_an_empty_result():
    got = search_states(C4, biased_evaluate, SearchParams(simulations=4), [])
    assert got.action.shape == (0,) and got.policy.shape == (0, C4.num_actions)
    assert got.visits.dtype == np.int32 and got.principal_variations == []
