"""The learned search rule: exactly PUCT when untrained; features as specified."""

import numpy as np
import pytest

from games import get_game
from search import BatchedMCTS, SearchParams, uniform_evaluate
from search.learned import (
    HIDDEN,
    NUM_SELECTION_FEATURES,
    SELECTION_SIZE,
    LearnedWeights,
    mlp_forward,
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
    mcts.run(control=control)
    decisions = mcts.decisions
    assert list(decisions.count) == [1, 1, 1] and list(decisions.children[:, 0]) == [7, 7, 7]
    assert list(decisions.simulation[:, 0]) == [10, 10, 10]
    assert list(decisions.choice[1:, 0]) == [2, 5]
    np.testing.assert_allclose(decisions.features[0, 0, :7], decisions.features[1, 0, :7])
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
    assert list(mcts.decisions.count) == [0, 0, 0]


def test_weight_shapes_are_checked():
    with pytest.raises(ValueError, match="selection weights must have"):
        LearnedWeights(np.zeros(5))


def trained_weights(seed=0, scale=0.3):
    """Random weights with a non-zero output layer: a learned rule that departs from PUCT."""
    w = np.random.default_rng(seed).normal(size=SELECTION_SIZE)
    w[-(HIDDEN + 1):] *= scale
    return w


def gumbel_noise(batch, decisions, width, seed=0):
    return np.random.default_rng(seed).gumbel(size=(batch, decisions, width))


def untied_evaluate(obs, legal):
    """``biased_evaluate`` with every child's prior distinct, so that no two children ever tie
    exactly (ties are broken by slot in the rule and by the noise when sampling)."""
    logits, values = biased_evaluate(obs, legal)
    stones = obs.sum(axis=(1, 2, 3))[:, None]
    return (logits + 0.01 * np.arange(legal.shape[1]) * (1 + 0.1 * stones)).astype(
        np.float32), values


def test_sampling_at_a_tiny_temperature_is_the_deterministic_learned_search():
    states = [C4.parse_position(p) for p in ("4453", "334455", "121212")]
    params = SearchParams(arm="learned", simulations=120)
    runs = []
    for tau in (0.0, 1e-12):
        mcts = BatchedMCTS(C4, untied_evaluate, params, batch_size=len(states), seed=0,
                           learned=LearnedWeights(trained_weights()))
        mcts.set_roots(states)
        noise = gumbel_noise(len(states), 2000, mcts.width) if tau else None
        runs.append((mcts, mcts.run(sample_temperature=tau, sample_noise=noise)))
    (a, ra), (b, rb) = runs
    np.testing.assert_array_equal(ra.visits, rb.visits)
    np.testing.assert_array_equal(a.tree.edge_child, b.tree.edge_child)
    decisions = b.decisions
    assert not decisions.overflow.any() and (decisions.count >= 120).all()
    # the recorded choices are the rule's own: argmax of PUCT + residual
    for t in range(len(states)):
        for d in range(decisions.count[t]):
            n = decisions.children[t, d]
            residual = [mlp_forward(b.learned.selection, decisions.features[t, d, i],
                                    NUM_SELECTION_FEATURES, HIDDEN) for i in range(n)]
            score = decisions.scores[t, d, :n] + residual
            assert score[decisions.choice[t, d]] == score.max()


def test_sampled_decisions_on_a_hand_checked_tree():
    """Tic-tac-toe after 1 2 3 4 (five empty cells), a uniform evaluator (priors 1/5, values
    0), the untrained rule (residual 0): the noise alone picks among equal scores."""
    ttt = get_game("tictactoe")
    params = SearchParams(arm="learned", simulations=3)
    mcts = BatchedMCTS(ttt, uniform_evaluate, params, batch_size=1, seed=0,
                       learned=LearnedWeights(untrained_weights()))
    mcts.set_roots([ttt.parse_position("1234")])
    tau = 0.05
    noise = np.zeros((1, 6, mcts.width))
    noise[0, 0, 2] = 5.0  # sim 0, root: all five score alike -> slot 2 (cell 7)
    noise[0, 1, 0] = 10.0  # sim 1, root: 0.5 beats slot 2's lead in exploration -> slot 0
    noise[0, 2, 0] = 10.0  # sim 2, root: slot 0 again (visited: go down) ...
    noise[0, 3, 3] = 1.0  # ... and below it, among four alike -> slot 3 (cell 9)
    mcts.run(sample_temperature=tau, sample_noise=noise)
    d = mcts.decisions
    assert d.count[0] == 4 and not d.overflow[0]
    assert d.children[0, :4].tolist() == [5, 5, 5, 4]
    assert d.choice[0, :4].tolist() == [2, 0, 0, 3]
    assert d.simulation[0, :4].tolist() == [0, 1, 2, 2]

    def c(n):
        return np.log((1 + n + 19652) / 19652) + 1.25

    u = [c(1) * 0.2, c(2) * np.sqrt(2) * 0.2, c(3) * np.sqrt(3) * 0.2, c(1) * 0.25]
    np.testing.assert_allclose(d.scores[0, 0, :5], [u[0]] * 5, rtol=1e-6)
    np.testing.assert_allclose(d.scores[0, 1, :5], [u[1], u[1], u[1] / 2, u[1], u[1]], rtol=1e-6)
    np.testing.assert_allclose(d.scores[0, 2, :5], [u[2] / 2, u[2], u[2] / 2, u[2], u[2]],
                               rtol=1e-6)
    np.testing.assert_allclose(d.scores[0, 3, :4], [u[3]] * 4, rtol=1e-6)
    np.testing.assert_array_equal(d.features[0, 2, :5, 2], [1, 0, 1, 0, 0])  # visited flags
    np.testing.assert_allclose(d.features[0, 3, :4, 8], 0.1)  # depth 1
    first = mcts.tree.first_edge[0, 0]
    assert mcts.tree.edge_visits[0, first:first + 5].tolist() == [2, 0, 1, 0, 0]


def test_sampled_choices_follow_the_softened_rule():
    """Gumbel-max in the kernel: the first decision's choices are distributed as
    softmax((PUCT + residual) / tau)."""
    trees, tau = 4000, 0.5
    mcts = BatchedMCTS(C4, biased_evaluate, SearchParams(arm="learned", simulations=1),
                       batch_size=trees, seed=0, learned=LearnedWeights(trained_weights(1)))
    mcts.set_roots([C4.parse_position("4453")] * trees)
    mcts.run(sample_temperature=tau, sample_noise=gumbel_noise(trees, 1, mcts.width, seed=2))
    d = mcts.decisions
    residual = [mlp_forward(mcts.learned.selection, d.features[0, 0, i],
                            NUM_SELECTION_FEATURES, HIDDEN) for i in range(7)]
    logits = (d.scores[0, 0, :7] + residual) / tau
    expected = np.exp(logits - logits.max())
    expected /= expected.sum()
    observed = np.bincount(d.choice[:, 0], minlength=7) / trees
    assert expected.max() < 0.9  # a real choice, not a foregone one
    np.testing.assert_allclose(observed, expected, atol=4 * np.sqrt(0.25 / trees))


def test_decisions_past_the_record_are_counted_as_overflow():
    mcts = BatchedMCTS(C4, biased_evaluate, SearchParams(arm="learned", simulations=30),
                       batch_size=2, seed=0, learned=LearnedWeights(trained_weights()))
    mcts.set_roots([C4.parse_position("4453")] * 2)
    result = mcts.run(sample_temperature=0.1, sample_noise=gumbel_noise(2, 5, mcts.width))
    assert (mcts.decisions.count > 5).all() and mcts.decisions.overflow.all()
    assert mcts.decisions.recorded.tolist() == [5, 5]
    assert (result.simulations == 30).all()


def test_sampling_arguments_are_checked():
    mcts = BatchedMCTS(C4, biased_evaluate, SearchParams(arm="learned", simulations=4),
                       batch_size=2, seed=0, learned=LearnedWeights(trained_weights()))
    mcts.set_roots([C4.initial_state()] * 2)
    with pytest.raises(ValueError, match="sample_noise"):
        mcts.run(sample_temperature=0.1, sample_noise=np.zeros((2, 5, 3)))
    puct = BatchedMCTS(C4, biased_evaluate, SearchParams(simulations=4), batch_size=2)
    puct.set_roots([C4.initial_state()] * 2)
    with pytest.raises(ValueError, match="learned arm"):
        puct.run(sample_temperature=0.1, sample_noise=np.zeros((2, 5, 7)))


# ------------------------------------------------------------- the learned training target
def _root_statistics(seed=0):
    """A searched batch of Connect Four roots: (policy, visits, prior, q, value)."""
    game = get_game("connect4")
    mcts = BatchedMCTS(game, biased_evaluate, SearchParams(simulations=5), batch_size=3,
                       seed=seed)
    states = [game.initial_state(), game.apply(game.initial_state(), 3),
              game.apply(game.apply(game.initial_state(), 0), 3)]
    mcts.set_roots(states)
    r = mcts.run()
    return r.policy, r.visits, r.prior, r.q, r.value


def test_untrained_target_is_the_search_policy_bit_for_bit():
    from search.learned import TARGET_START, improved_policy

    policy, visits, prior, q, value = _root_statistics()
    assert (visits == 0).any()  # some legal moves unvisited at 6 simulations
    for target in (np.zeros(0), TARGET_START, np.array([0.0, 3.0, -2.0, 0.5])):
        assert improved_policy(target, policy, visits, prior, q, value) is policy


def test_target_mixes_in_a_softmax_of_prior_q_and_visits():
    from search.learned import completed_q, improved_policy

    policy, visits, prior, q, value = _root_statistics()
    lam, beta, gamma, delta = 0.25, 0.5, 2.0, 1.0
    got = improved_policy(np.array([lam, beta, gamma, delta]), policy, visits, prior, q, value)
    legal = prior > 0
    for b in range(len(prior)):
        cq = completed_q(visits[b], q[b], value[b])
        z = np.where(legal[b], np.exp(beta * np.log(np.where(legal[b], prior[b], 1))
                                      + gamma * cq + delta * np.log1p(visits[b])), 0.0)
        want = (1 - lam) * visits[b] / visits[b].sum() + lam * z / z.sum()
        np.testing.assert_allclose(got[b], want, rtol=1e-5, atol=1e-7)
        assert (got[b][~legal[b]] == 0).all()
    assert (got[(visits == 0) & legal] > 0).all()  # unvisited legal moves get some mass


def test_torch_target_map_equals_the_numpy_target():
    import torch

    from nets.search_weights import TargetMap
    from search.learned import improved_policy

    policy, visits, prior, q, value = _root_statistics(seed=1)
    net = TargetMap()
    with torch.no_grad():
        net.params.copy_(torch.tensor([0.4, 0.7, 1.5, -0.3]))
    mine = net(visits, prior, q, value)[0].detach().numpy()
    theirs = improved_policy(net.export(), policy, visits, prior, q, value)
    np.testing.assert_allclose(mine, theirs, atol=1e-6)
    with torch.no_grad():
        net.params[0] = 1.7  # lam is kept in [0, 1] both in torch and in the export
    assert net.export()[0] == 1.0
    np.testing.assert_allclose(net(visits, prior, q, value)[0].detach().numpy(),
                               improved_policy(net.export(), policy, visits, prior, q, value),
                               atol=1e-6)


def test_target_weights_are_checked():
    with pytest.raises(ValueError, match="target weights must have 4"):
        LearnedWeights(target=np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        LearnedWeights(target=np.array([0.5, np.nan, 0.0, 0.0]))


def test_a_learned_readout_without_search_plays_the_networks_favourite():
    """simulations=0 (the ladder's "policy alone"): no visits to read, so the readout must not
    pick by its residual alone (it did, and the tandem study's policy-alone figure fell to 13%)."""
    from search.learned import READOUT_SIZE
    readout = np.random.default_rng(3).normal(size=READOUT_SIZE) * 3.0
    learned = LearnedWeights(readout=readout)
    positions = ["", "4453", "334455", "121212", "7766", "1", "44444"]
    states = [C4.parse_position(p) for p in positions]
    logits, _ = untied_evaluate(np.stack([C4.encode(s) for s in states]),
                                np.stack([C4.legal_mask(s) for s in states]))
    mcts = BatchedMCTS(C4, untied_evaluate, SearchParams(arm="learned", simulations=0),
                       batch_size=len(states), seed=0, learned=learned)
    mcts.set_roots(states)
    np.testing.assert_array_equal(mcts.run().action, np.argmax(logits, axis=1))
