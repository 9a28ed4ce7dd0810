"""The search tree: preallocated struct-of-arrays for B trees at once.

Nodes (``[B, N]``): node 0 is the root; node *i* is created by the *i*-th leaf
selection. ``value_sum[b, n]`` is from the point of view of the player who moved
*into* node ``n`` (so a parent compares children by their plain mean), and
``raw_value`` / ``terminal_value`` are from the side to move *at* ``n``.

Edges (``[B, E]``, a pool): a node's legal moves are the ``num_edges[b, n]``
consecutive edges from ``first_edge[b, n]``; ``edge_child`` is -1 until the move
is first selected. Each edge also carries its child's statistics (visits, value sum
from the mover's view, pending visits), a copy of the child node's own, so that
selection reads one node's children from consecutive memory instead of chasing
child indices; that halved the time of a descent. Only legal moves are stored, so chess (4,672 action slots, a
few dozen legal moves) stays small.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numba import njit

NO_CHILD = -1


@dataclass
class Tree:
    # per node, [B, N]
    visits: np.ndarray  # int32
    value_sum: np.ndarray  # float32, mover-into-node's view
    virtual: np.ndarray  # int32, pending visits (virtual loss)
    parent: np.ndarray  # int32, -1 at the root
    parent_edge: np.ndarray  # int32, the edge leading here, -1 at the root
    first_edge: np.ndarray  # int32
    num_edges: np.ndarray  # int32
    expanded: np.ndarray  # bool, evaluated and given edges (or terminal)
    terminal: np.ndarray  # bool
    raw_value: np.ndarray  # float32, network or exact value, side to move at the node
    depth: np.ndarray  # int32, plies below the root
    # per edge, [B, E]
    edge_action: np.ndarray  # int32
    edge_prior: np.ndarray  # float32 (Dirichlet noise is mixed in here at the root)
    edge_logit: np.ndarray  # float32, network logit minus the node's max logit
    edge_child: np.ndarray  # int32, NO_CHILD until selected
    edge_gumbel: np.ndarray  # float32, Gumbel noise (root edges, Gumbel arm)
    edge_visits: np.ndarray  # int32, = visits[child]
    edge_value: np.ndarray  # float32, = value_sum[child]
    edge_virtual: np.ndarray  # int32, = virtual[child]
    edge_value_sq: np.ndarray  # float32, sum of squared backed-up values (learned features)
    # per tree, [B]
    num_nodes: np.ndarray  # int32
    num_edges_used: np.ndarray  # int32

    @property
    def batch_size(self) -> int:
        return self.visits.shape[0]

    @property
    def node_capacity(self) -> int:
        return self.visits.shape[1]

    @property
    def edge_capacity(self) -> int:
        return self.edge_action.shape[1]


NODE_FIELDS = ("visits", "value_sum", "virtual", "parent", "parent_edge", "first_edge",
               "num_edges", "expanded", "terminal", "raw_value", "depth")
EDGE_FIELDS = ("edge_action", "edge_prior", "edge_logit", "edge_child", "edge_gumbel",
               "edge_visits", "edge_value", "edge_virtual", "edge_value_sq")
_DTYPES = {
    "visits": np.int32, "value_sum": np.float32, "virtual": np.int32, "parent": np.int32,
    "parent_edge": np.int32, "edge_visits": np.int32, "edge_value": np.float32,
    "edge_virtual": np.int32, "edge_value_sq": np.float32,
    "first_edge": np.int32, "num_edges": np.int32, "expanded": np.bool_, "terminal": np.bool_,
    "raw_value": np.float32, "depth": np.int32, "edge_action": np.int32,
    "edge_prior": np.float32, "edge_logit": np.float32, "edge_child": np.int32,
    "edge_gumbel": np.float32,
}


def allocate_tree(batch_size: int, node_capacity: int, edge_capacity: int) -> Tree:
    arrays = {}
    for name in NODE_FIELDS:
        arrays[name] = np.zeros((batch_size, node_capacity), dtype=_DTYPES[name])
    for name in EDGE_FIELDS:
        arrays[name] = np.zeros((batch_size, edge_capacity), dtype=_DTYPES[name])
    arrays["edge_child"].fill(NO_CHILD)
    arrays["num_nodes"] = np.zeros(batch_size, dtype=np.int32)
    arrays["num_edges_used"] = np.zeros(batch_size, dtype=np.int32)
    return Tree(**arrays)


def _grown(array: np.ndarray, new_size: int, fill) -> np.ndarray:
    extra = np.full((array.shape[0], new_size - array.shape[1]), fill, dtype=array.dtype)
    return np.concatenate([array, extra], axis=1)


def ensure_capacity(tree: Tree, nodes_needed: int, edges_needed: int) -> None:
    """Grow the node or edge pool (doubling) so that each tree has room for the given totals."""
    if nodes_needed > tree.node_capacity:
        size = max(nodes_needed, 2 * tree.node_capacity)
        for name in NODE_FIELDS:
            setattr(tree, name, _grown(getattr(tree, name), size, 0))
    if edges_needed > tree.edge_capacity:
        size = max(edges_needed, 2 * tree.edge_capacity)
        for name in EDGE_FIELDS:
            setattr(tree, name, _grown(getattr(tree, name), size, NO_CHILD if name == "edge_child" else 0))


def reset_trees(tree: Tree, which: np.ndarray) -> None:
    """Empty the trees ``which`` (bool[B]); their roots must be evaluated again."""
    tree.num_nodes[which] = 0
    tree.num_edges_used[which] = 0


def tree_arrays(tree: Tree) -> tuple:
    """All arrays in field order, for passing to the kernels."""
    return tuple(getattr(tree, f.name) for f in fields(tree))


@njit(cache=True)
def reroot_kernel(b, new_root, states, visits, value_sum, virtual, parent, parent_edge,
                  first_edge, num_edges, expanded, terminal, raw_value, depth, edge_action,
                  edge_prior, edge_logit, edge_child, edge_gumbel, edge_visits, edge_value,
                  edge_virtual, edge_value_sq, num_nodes, num_edges_used):
    """Make ``new_root``'s subtree the whole of tree ``b``, compacted in breadth-first order.

    ``states`` is ``[B, N, S]`` (an empty ``[B, N, 0]`` array for games whose states live in
    Python). Returns ``old_index[new_nodes]``, the old index of each kept node. Nodes keep
    their pending (virtual) visits, so call it between searches, not during one.
    """
    n_old = num_nodes[b]
    order = np.empty(n_old, dtype=np.int32)
    new_index = np.full(n_old, -1, dtype=np.int32)
    order[0] = new_root
    new_index[new_root] = 0
    count = 1
    head = 0
    edges_kept = 0
    while head < count:  # breadth-first: parents before children
        node = order[head]
        head += 1
        edges_kept += num_edges[b, node]
        for e in range(first_edge[b, node], first_edge[b, node] + num_edges[b, node]):
            child = edge_child[b, e]
            if child >= 0:
                order[count] = child
                new_index[child] = count
                count += 1
    # Gather into temporaries first: a kept node's new slot may hold another kept node.
    n_int = np.empty((5, count), dtype=np.int32)
    n_flt = np.empty((2, count), dtype=np.float32)
    n_bool = np.empty((2, count), dtype=np.bool_)
    n_state = np.empty((count, states.shape[2]), dtype=states.dtype)
    e_int = np.empty((4, edges_kept), dtype=np.int32)
    e_flt = np.empty((4, edges_kept), dtype=np.float32)
    pos = 0
    root_depth = depth[b, new_root]
    for i in range(count):
        node = order[i]
        n_int[0, i] = visits[b, node]
        n_int[1, i] = virtual[b, node]
        n_int[2, i] = num_edges[b, node]
        n_int[3, i] = depth[b, node] - root_depth
        n_int[4, i] = pos
        n_flt[0, i] = value_sum[b, node]
        n_flt[1, i] = raw_value[b, node]
        n_bool[0, i] = expanded[b, node]
        n_bool[1, i] = terminal[b, node]
        n_state[i] = states[b, node]
        for e in range(first_edge[b, node], first_edge[b, node] + num_edges[b, node]):
            child = edge_child[b, e]
            e_int[0, pos] = edge_action[b, e]
            e_int[1, pos] = new_index[child] if child >= 0 else -1
            e_int[2, pos] = edge_visits[b, e]
            e_int[3, pos] = edge_virtual[b, e]
            e_flt[0, pos] = edge_prior[b, e]
            e_flt[1, pos] = edge_logit[b, e]
            e_flt[2, pos] = edge_value[b, e]
            e_flt[3, pos] = edge_value_sq[b, e]
            pos += 1
    for i in range(count):
        visits[b, i] = n_int[0, i]
        virtual[b, i] = n_int[1, i]
        num_edges[b, i] = n_int[2, i]
        depth[b, i] = n_int[3, i]
        first_edge[b, i] = n_int[4, i]
        value_sum[b, i] = n_flt[0, i]
        raw_value[b, i] = n_flt[1, i]
        expanded[b, i] = n_bool[0, i]
        terminal[b, i] = n_bool[1, i]
        states[b, i] = n_state[i]
    parent[b, 0] = -1
    parent_edge[b, 0] = -1
    for e in range(edges_kept):
        edge_action[b, e] = e_int[0, e]
        edge_child[b, e] = e_int[1, e]
        edge_visits[b, e] = e_int[2, e]
        edge_virtual[b, e] = e_int[3, e]
        edge_prior[b, e] = e_flt[0, e]
        edge_logit[b, e] = e_flt[1, e]
        edge_value[b, e] = e_flt[2, e]
        edge_value_sq[b, e] = e_flt[3, e]
        edge_gumbel[b, e] = 0.0
    for i in range(count):  # children point back at their new parents and edges
        for e in range(first_edge[b, i], first_edge[b, i] + num_edges[b, i]):
            child = edge_child[b, e]
            if child >= 0:
                parent[b, child] = i
                parent_edge[b, child] = e
    num_nodes[b] = count
    num_edges_used[b] = edges_kept
    return order[:count].copy()
