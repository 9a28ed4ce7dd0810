"""Search tests with a uniform evaluator: no torch needed."""

import numpy as np
import pytest

from games import get_game
from search import BatchedMCTS, SearchParams, considered_visit_sequence, uniform_evaluate
from search.kernels import backup, puct_select
from search.mcts import params_vector
from search.readout import choose_by_visits
from search.tree import allocate_tree

C4 = get_game("connect4")
NO_BACKUP = np.zeros(0)
TTT = get_game("tictactoe")


def search(game, positions, arm="puct", sims=400, k=1, seed=0, **kw):
    mcts = BatchedMCTS(game, uniform_evaluate,
                       SearchParams(arm=arm, simulations=sims, leaves_per_step=k, **kw),
                       batch_size=len(positions), seed=seed)
    mcts.set_roots([game.parse_position(p) for p in positions])
    return mcts, mcts.run()


def tiny_tree():
    """Root with two edges: child 1 (3 visits, mean 0.5 for the mover) and an unvisited one."""
    t = allocate_tree(1, 8, 16)
    t.num_nodes[0] = 2
    t.visits[0, 0], t.value_sum[0, 0] = 4, -1.0  # root: mean +0.25 for its side to move
    t.parent[0, 0], t.parent_edge[0, 0] = -1, -1
    t.first_edge[0, 0], t.num_edges[0, 0], t.expanded[0, 0] = 0, 2, True
    t.edge_action[0, :2] = [3, 5]
    t.edge_prior[0, :2] = [0.3, 0.7]
    t.edge_child[0, :2] = [1, -1]
    t.edge_visits[0, 0], t.edge_value[0, 0] = 3, 1.5
    t.visits[0, 1], t.value_sum[0, 1], t.parent[0, 1], t.parent_edge[0, 1] = 3, 1.5, 0, 0
    return t


@pytest.mark.parametrize("fpu_reduction", [0.0, 0.6])
def test_puct_select_matches_hand_computation(fpu_reduction):
    t = tiny_tree()
    params = params_vector(SearchParams(fpu_reduction=fpu_reduction))
    c = np.log((1 + 4 + 19652) / 19652) + 1.25
    score_visited = 0.5 + c * 0.3 * np.sqrt(4) / (1 + 3)
    score_unvisited = (0.25 - fpu_reduction) + c * 0.7 * np.sqrt(4) / 1
    extra = np.zeros(2)
    chosen = puct_select(0, 0, params, t.visits, t.value_sum, t.virtual, t.first_edge,
                         t.num_edges, t.edge_prior, t.edge_visits, t.edge_value,
                         t.edge_virtual, extra, False, np.zeros(2))
    assert chosen == int(score_unvisited > score_visited)
    # A residual from the learned rule is added to the score.
    extra[:] = [0.0, -10.0]
    chosen = puct_select(0, 0, params, t.visits, t.value_sum, t.virtual, t.first_edge,
                         t.num_edges, t.edge_prior, t.edge_visits, t.edge_value,
                         t.edge_virtual, extra, True, np.zeros(2))
    assert chosen == 0


def test_backup_alternates_signs_and_updates_edges():
    t = tiny_tree()
    # grandchild 2 under child 1 through edge 2
    t.num_nodes[0] = 3
    t.first_edge[0, 1], t.num_edges[0, 1] = 2, 1
    t.edge_child[0, 2], t.parent[0, 2], t.parent_edge[0, 2] = 2, 1, 2
    t.virtual[0, :3] = 1
    t.edge_virtual[0, [0, 2]] = 1
    backup(0, 2, 1.0, 1, t.visits, t.value_sum, t.virtual, t.parent, t.parent_edge,
           t.edge_visits, t.edge_value, t.edge_virtual, t.edge_value_sq, NO_BACKUP,
           t.first_edge, t.num_edges)
    # the side to move at node 2 wins: bad for whoever moved into 2, good for the one above
    assert t.value_sum[0, 2] == -1.0 and t.edge_value[0, 2] == -1.0
    assert t.value_sum[0, 1] == 1.5 + 1.0 and t.edge_value[0, 0] == 1.5 + 1.0
    assert t.value_sum[0, 0] == -1.0 - 1.0
    assert list(t.visits[0, :3]) == [5, 4, 1]
    assert t.virtual[0, :3].sum() == 0 and t.edge_virtual[0, :3].sum() == 0


def grandchild_tree():
    t = tiny_tree()  # grandchild 2 under child 1 through edge 2, as above
    t.num_nodes[0] = 3
    t.first_edge[0, 1], t.num_edges[0, 1] = 2, 1
    t.edge_child[0, 2], t.parent[0, 2], t.parent_edge[0, 2] = 2, 1, 2
    return t


@pytest.mark.parametrize("weights, root_sum", [
    ([0.0, 0.0, 0.0, 0.0], -2.0),  # w = 0: the mean backup
    ([1.0, 0.0, 0.0, 0.0], -1.0 - 0.625),  # w = 1: the root gets its best child's Q
    ([0.5, 0.0, 0.0, 0.0], -1.0 - 0.8125),
    ([-3.0, 0.0, 0.0, 0.0], -2.0),  # w clipped at 0
    ([0.0, 0.0, 0.0, 2.0], -2.0),  # spread 0 at the root (one visited child): w = 0
])
def test_learned_backup_mixes_in_the_best_child(weights, root_sum):
    t = grandchild_tree()
    backup(0, 2, 1.0, 0, t.visits, t.value_sum, t.virtual, t.parent, t.parent_edge,
           t.edge_visits, t.edge_value, t.edge_virtual, t.edge_value_sq, np.array(weights),
           t.first_edge, t.num_edges)
    # The leaf and its parent (whose only child is the leaf) back up as before; at the root,
    # the value passed on is -1 (the mover into node 1 won) and its best child's Q, after
    # this update, is 2.5 / 4 = 0.625 for the root's side to move.
    assert t.value_sum[0, 2] == -1.0 and t.value_sum[0, 1] == 2.5
    assert t.value_sum[0, 0] == pytest.approx(root_sum, abs=1e-12)


def test_untrained_learned_backup_is_the_mean_backup_bit_for_bit():
    from search.learned import BACKUP_SIZE, LearnedWeights

    positions = ["4453", "3344", ""]
    results = []
    for backup_w in (None, np.zeros(BACKUP_SIZE), np.array([1.0, 0.0, 0.0, 0.0])):
        mcts = BatchedMCTS(C4, uniform_evaluate, SearchParams(arm="learned", simulations=200),
                           batch_size=3, seed=0, learned=LearnedWeights(backup=backup_w))
        mcts.set_roots([C4.parse_position(p) for p in positions])
        results.append(mcts.run())
    mean, zero, full = results
    np.testing.assert_array_equal(zero.visits, mean.visits)
    np.testing.assert_array_equal(zero.q, mean.q)
    np.testing.assert_array_equal(zero.value, mean.value)
    assert not np.array_equal(full.value, mean.value)  # w = 1 (max backup) changes the values


@pytest.mark.parametrize("arm", ["puct", "gumbel"])
@pytest.mark.parametrize("k", [1, 4])
def test_connect4_win_and_block(arm, k):
    # "121212": the first player completes column 1. "12121": the second player must block it.
    # "445566": the first player has 4-5-6 on the bottom row and wins at 3 or 7.
    _, result = search(C4, ["121212", "12121", "445566"], arm=arm, k=k, sims=300)
    assert list(result.action[:2]) == [0, 0]
    assert result.value[0] > 0.5
    assert result.action[2] in (2, 6)


@pytest.mark.parametrize("arm", ["puct", "gumbel"])
def test_tictactoe_win_and_block(arm):
    # "1425": X has 1,2 (top row), O has 4,5: X wins at 3. "142": O must block at 3.
    _, result = search(TTT, ["1425", "142"], arm=arm, sims=300)
    assert list(result.action) == [2, 2]


def test_batch_independence():
    positions = ["", "44", "4453", "121212", "3344", "1122334"]
    for arm in ("puct", "gumbel"):
        _, together = search(C4, positions, arm=arm, sims=200, k=2)
        for i, p in enumerate(positions):
            _, alone = search(C4, [p], arm=arm, sims=200, k=2)
            np.testing.assert_array_equal(together.visits[i], alone.visits[0])
            np.testing.assert_allclose(together.value[i], alone.value[0], atol=1e-6)
            assert together.action[i] == alone.action[0]


def test_virtual_loss_counts_and_clears():
    mcts, result = search(C4, ["44"], sims=500, k=16)
    t = mcts.tree
    assert result.simulations[0] == 500
    assert t.visits[0, 0] == 501  # the root's own evaluation plus every simulation
    assert result.visits.sum() == 500
    assert t.virtual.sum() == 0 and t.edge_virtual.sum() == 0
    # k leaves per step spread over several children rather than one path
    assert (result.visits[0] > 0).sum() == 7


def test_exact_terminal_values():
    # Every simulation through a winning move backs up exactly +1.
    _, result = search(C4, ["121212"], sims=200)
    assert result.q[0, 0] == pytest.approx(1.0)
    _, result = search(TTT, ["1425"], sims=200)
    assert result.q[0, 2] == pytest.approx(1.0)


def test_terminal_root_gives_no_move():
    _, result = search(C4, ["1212121"], sims=50)
    assert result.action[0] == -1 and result.simulations[0] == 0


def test_tree_reuse_keeps_subtree():
    mcts, result = search(C4, [""], sims=400)
    action = int(result.action[0])
    child_visits = int(result.visits[0, action])
    nxt = C4.apply(C4.initial_state(), action)
    mcts.advance(0, action, nxt)
    assert mcts.tree.visits[0, 0] == child_visits
    result2 = mcts.run(simulations=100)
    assert mcts.tree.visits[0, 0] == child_visits + 100
    assert result2.visits.sum() == child_visits + 100 - 1
    # The reused tree agrees with its states: every node's state is its parent's plus a move.
    t = mcts.tree
    for node in range(1, t.num_nodes[0]):
        p, e = t.parent[0, node], t.parent_edge[0, node]
        expected = C4.apply(mcts.states[0, p], int(t.edge_action[0, e]))
        np.testing.assert_array_equal(mcts.states[0, node], expected)


def test_dirichlet_noise_only_at_root():
    mcts = BatchedMCTS(C4, uniform_evaluate, SearchParams(simulations=50), batch_size=1, seed=1)
    mcts.set_roots([C4.initial_state()])
    mcts.run(add_noise=True)
    t = mcts.tree
    root_priors = t.edge_prior[0, t.first_edge[0, 0]:t.first_edge[0, 0] + 7]
    assert root_priors.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.ptp(root_priors) > 0.01  # uniform priors were perturbed
    child = t.edge_child[0, t.first_edge[0, 0]]
    first = t.first_edge[0, child]
    np.testing.assert_allclose(t.edge_prior[0, first:first + 7], 1 / 7, atol=1e-6)


def test_temperature_sampling_follows_visits():
    mcts, result = search(C4, [""], sims=200)
    counts = np.zeros(7)
    for _ in range(300):
        counts[choose_by_visits(result.visits[0], result.prior[0], 1.0, mcts.rng)] += 1
    expected = result.visits[0] / result.visits[0].sum()
    assert np.abs(counts / 300 - expected).max() < 0.1


def test_zero_simulations_is_network_policy():
    _, result = search(C4, ["44"], sims=0)
    assert result.action[0] == 0 and result.visits.sum() == 0  # uniform prior: first argmax


def test_gumbel_schedule():
    seq = considered_visit_sequence(4, 20)
    assert len(seq) == 20 and list(seq[:4]) == [0, 0, 0, 0]
    assert list(considered_visit_sequence(1, 5)) == [0, 1, 2, 3, 4]
    # sequential halving: later phases visit fewer distinct actions
    assert max(seq) > 3


def test_gumbel_policy_is_a_distribution_over_legal_moves():
    _, result = search(C4, ["4444441"], arm="gumbel", sims=64)
    assert result.policy[0].sum() == pytest.approx(1.0, abs=1e-5)
    assert result.policy[0, 3] == 0.0  # column 4 is full


def test_chess_search_smoke():
    game = get_game("chess")
    # Scholar's mate available: Qxf7#.
    board = game.parse_position("startpos moves e2e4 e7e5 f1c4 b8c6 d1h5 g8f6")
    mcts = BatchedMCTS(game, uniform_evaluate, SearchParams(simulations=200, leaves_per_step=8),
                       batch_size=1, seed=0)
    mcts.set_roots([board])
    result = mcts.run()
    assert game.format_move(board, int(result.action[0])) == "h5f7"


def masked_search(arm, allowed, positions=("4453", "4453"), sims=64, k=1):
    mcts = BatchedMCTS(C4, uniform_evaluate, SearchParams(arm=arm, simulations=sims,
                                                          leaves_per_step=k),
                       batch_size=len(positions), seed=3)
    mcts.set_roots([C4.parse_position(p) for p in positions], allowed=allowed)
    return mcts, mcts.run()  # no noise: it would couple the trees through the generator


@pytest.mark.parametrize("arm,k", [("puct", 1), ("puct", 4), ("gumbel", 1)])
def test_root_mask_restricts_root_moves_only(arm, k):
    allowed = np.ones((2, 7), dtype=bool)
    allowed[0] = False
    allowed[0, [1, 5]] = True  # tree 0: columns 2 and 6 only; tree 1: everything
    mcts, result = masked_search(arm, allowed, k=k)
    assert set(np.flatnonzero(result.visits[0])) == {1, 5}
    assert result.action[0] in (1, 5)
    np.testing.assert_allclose(result.prior[0, [1, 5]], 0.5, atol=1e-6)  # renormalised
    assert result.prior[0].sum() == pytest.approx(1.0) and result.policy[0].sum() == \
        pytest.approx(1.0)
    assert result.policy[0][~allowed[0]].sum() == 0.0
    assert mcts.tree.num_edges[0, 0] == 2
    t = mcts.tree  # below the root, every legal move
    child = t.edge_child[0, t.first_edge[0, 0]]
    assert t.num_edges[0, child] == 7
    # the unrestricted tree of the batch is the search it would be alone with no mask
    _, alone = masked_search(arm, None)
    np.testing.assert_array_equal(result.visits[1], alone.visits[1])


def test_root_mask_of_every_move_changes_nothing():
    _, masked = masked_search("puct", np.ones((2, 7), dtype=bool), sims=100)
    _, plain = masked_search("puct", None, sims=100)
    np.testing.assert_array_equal(masked.visits, plain.visits)
    np.testing.assert_array_equal(masked.value, plain.value)


def test_root_mask_is_checked_and_ends_with_the_root():
    mcts = BatchedMCTS(C4, uniform_evaluate, SearchParams(simulations=20), batch_size=1)
    state = C4.parse_position("4444441")
    with pytest.raises(ValueError, match="allowed must be bool"):
        mcts.set_roots([state], allowed=np.ones((1, 5), dtype=bool))
    with pytest.raises(ValueError, match="every row"):
        mcts.set_roots([state], allowed=np.zeros((1, 7), dtype=bool))
    full_column = np.zeros((1, 7), dtype=bool)
    full_column[0, 3] = True
    mcts.set_roots([state], allowed=full_column)
    with pytest.raises(ValueError, match="none of the allowed root moves is legal"):
        mcts.run()
    allowed = np.zeros((1, 7), dtype=bool)
    allowed[0, 0] = True
    mcts.set_roots([C4.initial_state()], allowed=allowed)
    result = mcts.run()
    assert result.action[0] == 0 and result.visits[0, 0] == 20
    mcts.advance(0, 0, C4.apply(C4.initial_state(), 0))  # the next root is unrestricted
    assert mcts.root_allowed[0] is None
    assert np.count_nonzero(mcts.run().visits[0]) == 7


def rising_prior_evaluate(obs, legal):
    """Priors that rise with the action index, values 0: small searches tie on visits."""
    logits = np.where(legal, 0.01 * np.arange(legal.shape[1]), -1e9)
    return logits.astype(np.float32), np.zeros(len(obs), dtype=np.float32)


def test_principal_variation_from_the_move_played():
    mcts = BatchedMCTS(C4, rising_prior_evaluate, SearchParams(simulations=14), batch_size=1)
    mcts.set_roots([C4.initial_state()])
    result = mcts.run()
    assert result.visits[0].tolist() == [2] * 7  # a seven-way tie ...
    action = int(result.action[0])
    assert action == 6  # ... broken by prior, where the most visited path starts with 0
    assert mcts.principal_variation(0)[0] == 0
    line = mcts.principal_variation(0, first_action=action)
    assert line[0] == action and len(line) == 2
    mcts.advance(0, action, C4.apply(C4.initial_state(), action))
    assert line[1:] == mcts.principal_variation(0)  # the most visited path below the move
    assert mcts.principal_variation(0, first_action=3, max_length=1) == [3]


def test_tree_view_is_read_only_and_consistent():
    mcts, result = search(C4, ["", "4453"], sims=60)
    for b in range(2):
        view = mcts.view(b)
        assert view.num_nodes == mcts.tree.num_nodes[b] == len(view.visits)
        root_edges = view.edges(0)
        counts = {int(view.edge_action[e]): int(view.edge_visits[e]) for e in root_edges}
        assert counts == {a: int(n) for a, n in enumerate(result.visits[b]) if n or a in counts}
        for node in range(1, view.num_nodes):  # every child is reached by exactly one edge
            assert sum(int(view.edge_child[e]) == node for n in range(view.num_nodes)
                       for e in view.edges(n)) == 1
        with pytest.raises(ValueError, match="read-only"):
            view.edge_visits[0] = 5
