"""The chess tree's memory: node states packed into rows (games.base.PackedGame) give the
same search as whole boards, and a long search grows by a bounded number of bytes per
simulation."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from games import capabilities, get_game
from games.base import PACKED_MEMBERS
from search import BatchedMCTS, SearchParams, uniform_evaluate

CHESS = get_game("chess")
RUY_LOPEZ = "startpos moves e2e4 e7e5 g1f3 b8c6 f1b5 a7a6 b5a4 g8f6 e1g1"
SHUFFLED = "startpos moves g1f3 g8f6 f3g1 f6g8 g1f3 g8f6 f3g1"  # the next f6g8 repeats thrice


class WholeBoards:
    """Chess without the packed members: the search keeps a board per node."""

    def __init__(self, game):
        self._game = game

    def __getattr__(self, name):
        if name in PACKED_MEMBERS:
            raise AttributeError(name)
        return getattr(self._game, name)


def _search_twice(game, position, arm):
    """Results of a search, of one after moving the root along its choice, and the tree."""
    board = CHESS.parse_position(position)
    params = SearchParams(simulations=300, leaves_per_step=8, arm=arm)
    mcts = BatchedMCTS(game, uniform_evaluate, params, batch_size=2, seed=0)
    mcts.set_roots([board, CHESS.parse_position(RUY_LOPEZ)])
    first = mcts.run(add_noise=True)
    action = int(first.action[0])
    mcts.advance(0, action, CHESS.apply(board, action))
    return first, mcts.run(), mcts


def test_chess_is_a_packed_game():
    caps = capabilities(CHESS)
    assert caps.packed_states and not caps.array_game
    assert not capabilities(WholeBoards(CHESS)).packed_states


@pytest.mark.parametrize("arm", ["puct", "gumbel"])
@pytest.mark.parametrize("position", [RUY_LOPEZ, SHUFFLED, "8/8/4k3/8/2K5/8/8/R6r w - - 96 90"])
def test_packed_rows_search_as_whole_boards(position, arm):
    packed = _search_twice(CHESS, position, arm)
    whole = _search_twice(WholeBoards(CHESS), position, arm)
    assert packed[2].packed and not whole[2].packed
    for mine, theirs in zip(packed[:2], whole[:2]):
        for name in ("action", "visits", "q", "value", "policy"):
            np.testing.assert_array_equal(getattr(mine, name), getattr(theirs, name))
    tree, other = packed[2].tree, whole[2].tree
    np.testing.assert_array_equal(tree.num_nodes, other.num_nodes)
    for b in range(2):
        n = tree.num_nodes[b]
        np.testing.assert_array_equal(tree.terminal[b, :n], other.terminal[b, :n])


_LONG_SEARCH = """
import gc, json, sys, tracemalloc
from games import get_game
from search import BatchedMCTS, SearchParams, uniform_evaluate

def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

chess = get_game("chess")
sims = int(sys.argv[1])
mcts = BatchedMCTS(chess, uniform_evaluate, SearchParams(simulations=800, leaves_per_step=8),
                   batch_size=1, seed=0)
mcts.set_roots([chess.parse_position(sys.argv[2])])
mcts.run(simulations=200)  # compiled, warmed up
mcts.set_roots([chess.parse_position(sys.argv[2])])
mcts.run(simulations=2_000)  # the first pool growths and allocator arenas: not per-sim cost
gc.collect()
before = resident()
tracemalloc.start()
base, _ = tracemalloc.get_traced_memory()
mcts.run(simulations=sims)
traced, _ = tracemalloc.get_traced_memory()
tracemalloc.stop()
tree = mcts.tree
used = int(tree.num_nodes[0]) * (tree.nodes.itemsize + tree.depth.itemsize
                                  + mcts.states[0, 0].nbytes)
used += int(tree.num_edges_used[0]) * tree.edges.itemsize
arrays = tree.nodes.nbytes + tree.edges.nbytes + tree.depth.nbytes + mcts.states.nbytes
print(json.dumps({"nodes": int(tree.num_nodes[0]), "used": used, "python": traced - base - arrays,
                  "resident": resident() - before}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_long_chess_search_memory_per_simulation_is_bounded():
    """12,000 simulations of one chess tree, in a fresh interpreter (as `uci` runs: a long test
    run's allocator keeps freed pools resident and reads up to 10% high): the tree uses at most
    1.5 kB a simulation, no Python memory grows with the tree (a board per node was ~1.3 kB), and
    the process's resident memory grows by at most 1.5 kB a simulation (it was ~3 kB: boards, and
    pools made resident at their full capacity as they grew)."""
    sims = 12_000
    out = subprocess.run([sys.executable, "-c", _LONG_SEARCH, str(sims), RUY_LOPEZ],
                         capture_output=True, text=True, timeout=600, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["nodes"] > 0.9 * (sims + 2_000)
    assert got["used"] / got["nodes"] <= 1500
    # bytes of Python objects per simulation; the tree's arrays may all have been made during
    # the measured run (pool growth), so they are discounted in full
    assert got["python"] / sims < 64
    assert got["resident"] / sims <= 1500
