"""Fixed-seed searches pinned to the numbers the search gave before its speed work.

Layout and driver optimisations must not change a single visit or bit of value: each case
below was recorded from the struct-of-arrays search (commit 2932f49) and must stay exact.
"""

import numpy as np
import pytest

from games import get_game
from search import BatchedMCTS, SearchParams

C4 = get_game("connect4")
POSITIONS = ("", "4453", "3344")


def biased_evaluate(obs, legal):
    """Deterministic and position-dependent, so the trees are not symmetric."""
    logits = np.where(legal, obs[:, 0].sum(axis=1) * 0.3 - obs[:, 1].sum(axis=1) * 0.2, -1e9)
    values = np.tanh(obs[:, 0, :, 3].sum(axis=1) - obs[:, 1, :, 3].sum(axis=1)) * 0.5
    return logits.astype(np.float32), values.astype(np.float32)


PINNED = {  # (arm, leaves per step): root visits, root values (float.hex), actions, tree sizes
    ("puct", 1): ([[11, 7, 5, 152, 6, 6, 13], [8, 8, 12, 143, 9, 12, 8],
                   [4, 95, 4, 78, 4, 11, 4]],
                  ["0x1.6023ce0000000p-4", "0x1.2df2000000000p-5", "0x1.4666aa0000000p-2"],
                  [3, 3, 1], [201, 201, 157]),
    ("puct", 4): ([[11, 7, 6, 150, 6, 7, 13], [8, 8, 12, 142, 10, 12, 8],
                   [6, 46, 8, 116, 6, 12, 6]],
                  ["0x1.6b0b340000000p-4", "0x1.fec56e0000000p-6", "0x1.0262300000000p-3"],
                  [3, 3, 3], [201, 201, 195]),
    ("gumbel", 1): ([[9, 9, 9, 67, 66, 31, 9], [31, 9, 9, 66, 9, 67, 9],
                     [9, 31, 9, 66, 9, 67, 9]],
                    ["0x1.29ebb60000000p-3", "0x1.2921e80000000p-2", "0x1.0c79e00000000p-2"],
                    [3, 5, 5], [201, 196, 194]),
    # Re-pinned when sequential halving began counting started simulations instead of
    # virtual losses at the root (issue 13): a collision in tree 1 no longer shifts which
    # child takes a scheduled visit, so that tree's value moved; visits, moves and the other
    # trees are as before.
    ("gumbel", 4): ([[9, 9, 9, 67, 66, 31, 9], [31, 9, 9, 66, 9, 67, 9],
                     [9, 66, 9, 31, 9, 67, 9]],
                    ["0x1.444b600000000p-3", "0x1.24dc020000000p-2", "0x1.06a7fa0000000p-2"],
                    [3, 5, 5], [201, 196, 193]),
}


@pytest.mark.parametrize("arm,k", sorted(PINNED))
def test_fixed_seed_search_is_unchanged(arm, k):
    visits, values, actions, sizes = PINNED[arm, k]
    mcts = BatchedMCTS(C4, biased_evaluate, SearchParams(arm=arm, simulations=200,
                                                         leaves_per_step=k),
                       batch_size=len(POSITIONS), seed=5)
    mcts.set_roots([C4.parse_position(p) for p in POSITIONS])
    result = mcts.run(add_noise=True)
    assert result.visits.tolist() == visits
    assert [float(v).hex() for v in result.value] == values
    assert result.action.tolist() == actions
    assert mcts.tree.num_nodes.tolist() == sizes


def test_reused_and_grown_trees_are_unchanged():
    """Tree reuse, then a search larger than the pools: both pools grow mid-search."""
    states = [C4.parse_position(p) for p in POSITIONS]
    mcts = BatchedMCTS(C4, biased_evaluate, SearchParams(simulations=100, leaves_per_step=2),
                       batch_size=len(states), seed=5)
    mcts.set_roots(states)
    result = mcts.run()
    for b, state in enumerate(states):
        action = int(result.action[b])
        mcts.advance(b, action, C4.apply(state, action))
    result = mcts.run(simulations=350)
    assert (mcts.tree.node_capacity, mcts.tree.edge_capacity) == (832, 2912)
    assert result.visits.tolist() == [[9, 9, 9, 371, 9, 9, 9], [10, 10, 14, 359, 8, 10, 10],
                                      [21, 21, 24, 295, 21, 21, 21]]
    assert [float(v).hex() for v in result.value] == [
        "-0x1.27bc060000000p-4", "-0x1.f3eba60000000p-4", "-0x1.3475340000000p-2"]
    assert result.action.tolist() == [3, 3, 3]
    assert mcts.tree.num_nodes.tolist() == [426, 416, 398]
