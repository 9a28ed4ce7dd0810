"""The learned search rule: exactly PUCT when untrained; features as specified."""

import numpy as np
import pytest

from games import get_game
from search import BatchedMCTS, SearchParams
from search.learned import (
    HIDDEN, NUM_SELECTION_FEATURES, SELECTION_SIZE, LearnedWeights, mlp_forward,
    selection_features,
)
from search.mcts import params_vector
from search.tree import allocate_tree

C4 = get_game("connect4")


def untrained_weights(seed=0):
    """Random hidden layers, zero output layer: the state a fresh learned search starts in."""
    w = np.random.default_rng(seed).normal(size=SELECTION_SIZE)
    w[-(HIDDEN + 1):] = 0.0
    return w


def biased_evaluate(obs, legal):
    """A deterministic, position-dependent evaluator so trees are not trivially symmetric."""
    logits = np.where(legal, obs[:, 0].sum(axis=1) * 0.3 - obs[:, 1].sum(axis=1) * 0.2, -1e9)
    values = np.tanh(obs[:, 0, :, 3].sum(axis=1) - obs[:, 1, :, 3].sum(axis=1)) * 0.5
    return logits.astype(np.float32), values.astype(np.float32)


@pytest.mark.parametrize("k", [1, 4])
def test_untrained_learned_search_is_exactly_puct(k):
    positions = ["", "4453", "3344556", "121212"]
    states = [C4.parse_position(p) for p in positions]
    trees = []
    for arm, learned in (("puct", None), ("learned", LearnedWeights(untrained_weights()))):
        mcts = BatchedMCTS(C4, biased_evaluate, SearchParams(arm=arm, simulations=300,
                                                             leaves_per_step=k),
                           batch_size=len(states), seed=0, learned=learned)
        mcts.set_roots(states)
        result = mcts.run()
        trees.append((mcts, result))
    (a, ra), (b, rb) = trees
    np.testing.assert_array_equal(ra.visits, rb.visits)
    np.testing.assert_array_equal(ra.action, rb.action)
    for name in ("num_nodes", "edge_visits", "edge_child", "parent"):
        np.testing.assert_array_equal(getattr(a.tree, name), getattr(b.tree, name))


def test_trained_residual_changes_the_search():
    w = untrained_weights()
    w[-1] = 0.0
    w[-(HIDDEN + 1):-1] = 5.0  # a large residual that depends on features
    mcts = BatchedMCTS(C4, biased_evaluate, SearchParams(arm="learned", simulations=200),
                       batch_size=1, seed=0, learned=LearnedWeights(w))
    mcts.set_roots([C4.parse_position("4453")])
    learned = mcts.run().visits
    mcts = BatchedMCTS(C4, biased_evaluate, SearchParams(simulations=200), batch_size=1, seed=0)
    mcts.set_roots([C4.parse_position("4453")])
    assert not np.array_equal(learned, mcts.run().visits)


def test_features_on_a_hand_built_tree():
    t = allocate_tree(1, 4, 8)
    t.num_nodes[0] = 2
    t.visits[0, 0], t.value_sum[0, 0] = 5, -1.0  # node mean +0.2 for its side to move
    t.parent[0, 0], t.parent_edge[0, 0], t.depth[0, 0] = -1, -1, 0
    t.first_edge[0, 0], t.num_edges[0, 0] = 0, 2
    t.edge_prior[0, :2] = [0.6, 0.4]
    t.edge_child[0, :2] = [1, -1]
    # child 1: visited 4 times, backed-up values (mover's view) 1, 1, 0, 0 -> mean .5, std .5
    t.edge_visits[0, 0], t.edge_value[0, 0], t.edge_value_sq[0, 0] = 4, 2.0, 2.0
    t.raw_value[0, 1] = -0.3  # the child's own network value, its side to move
    params = params_vector(SearchParams(fpu_reduction=0.1))
    out = np.zeros(NUM_SELECTION_FEATURES)
    args = (params, 12, 16, t.visits, t.value_sum, t.raw_value, t.depth, t.first_edge,
            t.edge_prior, t.edge_child, t.edge_visits, t.edge_value, t.edge_value_sq, out)
    selection_features(0, 0, 0, *args)
    c = np.log((1 + 5 + 19652) / 19652) + 1.25
    expected = [0.6, 0.5, 1.0, 4 / 5, np.log1p(4) / 5, c * 0.6 * np.sqrt(5) / 5, 0.3, 0.5,
                0.0, 12 / 16, 0.4]
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    selection_features(0, 0, 1, *args)  # unvisited: Q is the first-play value 0.2 - 0.1
    np.testing.assert_allclose(out[:8], [0.4, 0.1, 0.0, 0.0, 0.0, c * 0.4 * np.sqrt(5), 0.0,
                                         0.0], rtol=1e-6)


def test_mlp_forward_matches_numpy():
    rng = np.random.default_rng(3)
    w = rng.normal(size=SELECTION_SIZE)
    x = rng.normal(size=NUM_SELECTION_FEATURES)
    f, h = NUM_SELECTION_FEATURES, HIDDEN
    w1 = w[: f * h].reshape(f, h)
    b1 = w[f * h: f * h + h]
    o = f * h + h
    w2 = w[o: o + h * h].reshape(h, h)
    b2 = w[o + h * h: o + h * h + h]
    w3 = w[o + h * h + h: o + h * h + 2 * h]
    b3 = w[-1]
    expected = np.tanh(np.tanh(x @ w1 + b1) @ w2 + b2) @ w3 + b3
    assert mlp_forward(w, x, f, h) == pytest.approx(expected)


def test_forced_decision_records_and_deviates():
    params = SearchParams(arm="learned", simulations=40)
    states = [C4.parse_position("4453")] * 3
    mcts = BatchedMCTS(C4, biased_evaluate, params, batch_size=3, seed=0,
                       learned=LearnedWeights(untrained_weights()))
    mcts.set_roots(states)
    control = np.array([[10, 0, -1], [10, 0, 2], [10, 0, 5]])
    result = mcts.run(control=control)
    assert list(mcts.record_count) == [7, 7, 7]
    np.testing.assert_allclose(mcts.record_feats[0, :7], mcts.record_feats[1, :7])
    # the forced runs differ from the free one only from the forced decision on
    # the trees agree up to the forced simulation and differ after it
    edge_child = mcts.tree.edge_child
    assert not np.array_equal(edge_child[0], edge_child[1])
    assert not np.array_equal(edge_child[0], edge_child[2])
    root = slice(0, 7)
    assert ((edge_child[0, root] < 11) == (edge_child[1, root] < 11)).all()  # nodes 1..10
    # no control: nothing recorded
    mcts.set_roots(states)
    mcts.run()
    assert list(mcts.record_count) == [0, 0, 0]


def test_weight_shapes_are_checked():
    with pytest.raises(ValueError, match="selection weights must have"):
        LearnedWeights(np.zeros(5))
