"""The search tree: preallocated record arrays for B trees at once.

Nodes (``nodes[B, N]``, one 32-byte record each): node 0 is the root; node *i* is created
by the *i*-th leaf selection. ``value_sum`` is from the point of view of the player who
moved *into* the node (so a parent compares children by their plain mean), and
``raw_value`` / ``terminal_value`` are from the side to move *at* the node.

Edges (``edges[B, E]``, a pool of 32-byte records): a node's legal moves are the
``num_edges`` consecutive edges from its ``first_edge``; ``child`` is -1 until the move
is first selected. Each edge also carries its child's statistics (visits, value sum
from the mover's view, pending visits), a copy of the child node's own, so that
selection reads one node's children from consecutive memory instead of chasing
child indices; that halved the time of a descent. Only legal moves are stored, so chess
(4,672 action slots, a few dozen legal moves) stays small.

Records rather than one array per field: a descent and its backup touch every hot field of
a node or an edge together, and with one array per field each of them was a separate cache
miss once the trees outgrew the cache (B=256 x 800 simulations is ~50 MB).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

NO_CHILD = -1


NODE_DTYPE = np.dtype([
    ("visits", np.int32),
    ("virtual", np.int32),  # pending visits (virtual loss)
    ("value_sum", np.float32),  # mover-into-node's view
    ("first_edge", np.int32),
    ("num_edges", np.int16),
    ("expanded", np.bool_),  # evaluated and given edges (or terminal)
    ("terminal", np.bool_),
    ("parent", np.int32),  # -1 at the root
    ("parent_edge", np.int32),  # the edge leading here, -1 at the root
    ("raw_value", np.float32),  # network or exact value, side to move at the node
], align=True)
EDGE_DTYPE = np.dtype([
    ("visits", np.int32),  # = visits of the child
    ("value", np.float32),  # = value_sum of the child
    ("prior", np.float32),  # Dirichlet noise is mixed in here at the root
    ("child", np.int32),  # NO_CHILD until selected
    ("child_first", np.int32),  # = first_edge of the child: its edges are fetched early
    ("logit", np.float32),  # network logit minus the node's max logit
    ("value_sq", np.float32),  # sum of squared backed-up values (learned features)
    ("virtual", np.int16),  # = virtual of the child (at most 2 x leaves_per_step)
    ("action", np.int16),
], align=True)
MAX_ACTIONS = np.iinfo(np.int16).max
assert NODE_DTYPE.itemsize == 32 and EDGE_DTYPE.itemsize == 32  # two records per cache line


def _field(table: str, name: str):
    def get(self) -> np.ndarray:
        return getattr(self, table)[name]
    get.__doc__ = f"``{table}[{name!r}]``: a view (writes go to the tree)."
    return property(get)


@dataclass
class Tree:
    """The records hold what one descent and one backup touch together, so that a step
    reads two or three cache lines per level instead of one per field. The fields are also
    properties (``tree.visits``, ``tree.edge_prior``, ...) giving strided, writable views."""

    nodes: np.ndarray  # NODE_DTYPE[B, N]
    edges: np.ndarray  # EDGE_DTYPE[B, E]
    depth: np.ndarray  # int32[B, N], plies below the root (read by the learned rule only)
    num_nodes: np.ndarray  # int32[B]
    num_edges_used: np.ndarray  # int32[B]

    visits = _field("nodes", "visits")
    value_sum = _field("nodes", "value_sum")
    virtual = _field("nodes", "virtual")
    parent = _field("nodes", "parent")
    parent_edge = _field("nodes", "parent_edge")
    first_edge = _field("nodes", "first_edge")
    num_edges = _field("nodes", "num_edges")
    expanded = _field("nodes", "expanded")
    terminal = _field("nodes", "terminal")
    raw_value = _field("nodes", "raw_value")
    edge_action = _field("edges", "action")
    edge_prior = _field("edges", "prior")
    edge_logit = _field("edges", "logit")
    edge_child = _field("edges", "child")
    edge_visits = _field("edges", "visits")
    edge_value = _field("edges", "value")
    edge_virtual = _field("edges", "virtual")
    edge_value_sq = _field("edges", "value_sq")
    edge_child_first = _field("edges", "child_first")

    @property
    def batch_size(self) -> int:
        return self.nodes.shape[0]

    @property
    def node_capacity(self) -> int:
        return self.nodes.shape[1]

    @property
    def edge_capacity(self) -> int:
        return self.edges.shape[1]

    def arrays(self) -> tuple:
        """The arrays the kernels take, in the order of their parameters."""
        return self.nodes, self.edges, self.depth, self.num_nodes, self.num_edges_used


@dataclass(frozen=True)
class TreeView:
    """A read-only view of one tree for tools (UCI, analysis): the names here are the stable,
    public interface to a finished search; the record layout behind them may change.

    Nodes are ``0 .. num_nodes - 1`` (0 is the root); node n's children are the edges
    ``first_edge[n] .. first_edge[n] + num_edges[n] - 1``. Values as in ``Tree``: ``raw_value``
    from the side to move at the node, ``edge_value`` (a sum over ``edge_visits``) from the side
    that moves along the edge. The arrays share memory with the search: read them before it
    searches again (``run``, ``advance``, ``set_roots``).
    """

    num_nodes: int
    visits: np.ndarray  # int32[N]
    first_edge: np.ndarray  # int32[N]
    num_edges: np.ndarray  # int16[N], 0 until expanded, and for terminal nodes
    terminal: np.ndarray  # bool[N]
    raw_value: np.ndarray  # float32[N], network or exact value, side to move at the node
    edge_action: np.ndarray  # int16[E]
    edge_child: np.ndarray  # int32[E], NO_CHILD (-1) until the move is tried
    edge_visits: np.ndarray  # int32[E]
    edge_value: np.ndarray  # float32[E], sum of backed-up values, mover's view

    def edges(self, node: int) -> range:
        """The edge indices of ``node``'s children."""
        first = int(self.first_edge[node])
        return range(first, first + int(self.num_edges[node]))

    def principal_variation(self, first_action: int | None = None,
                            max_length: int = 12) -> list[int]:
        """Actions along the most visited path from the root (ties: the first edge).

        ``first_action``: start with this root move instead (say the move the readout played,
        which need not be the most visited: visit ties are broken by prior, the learned readout
        and Gumbel choose otherwise), then follow the most visited path below it.
        """
        if self.num_nodes == 0:
            return [] if first_action is None else [int(first_action)]
        line: list[int] = []
        node = 0
        if first_action is not None:
            line.append(int(first_action))
            node = next((int(self.edge_child[e]) for e in self.edges(0)
                         if self.edge_action[e] == first_action), -1)
        while node >= 0 and len(line) < max_length and self.num_edges[node] > 0:
            edges = self.edges(node)
            counts = self.edge_visits[edges.start:edges.stop]
            if counts.max() == 0:
                break
            e = edges.start + int(np.argmax(counts))
            line.append(int(self.edge_action[e]))
            node = int(self.edge_child[e])
        return line


def tree_view(tree: Tree, b: int) -> TreeView:
    """Read-only views of tree ``b``'s used nodes and edges."""
    n, e = int(tree.num_nodes[b]), int(tree.num_edges_used[b])

    def frozen(array: np.ndarray) -> np.ndarray:
        view = array.view()
        view.flags.writeable = False
        return view

    nodes, edges = tree.nodes[b, :n], tree.edges[b, :e]
    return TreeView(num_nodes=n, **{name: frozen(nodes[name]) for name in (
        "visits", "first_edge", "num_edges", "terminal", "raw_value")},
        **{f"edge_{name}": frozen(edges[name]) for name in (
            "action", "child", "visits", "value")})


def allocate_tree(batch_size: int, node_capacity: int, edge_capacity: int) -> Tree:
    return Tree(
        nodes=np.zeros((batch_size, node_capacity), dtype=NODE_DTYPE),
        edges=np.zeros((batch_size, edge_capacity), dtype=EDGE_DTYPE),
        depth=np.zeros((batch_size, node_capacity), dtype=np.int32),
        num_nodes=np.zeros(batch_size, dtype=np.int32),
        num_edges_used=np.zeros(batch_size, dtype=np.int32),
    )


def grown(array: np.ndarray, capacity: int) -> np.ndarray:
    """``array`` ([B, N, ...]) in a new zeroed array of ``capacity`` along axis 1.

    ``np.zeros`` of a large array maps fresh pages that the OS fills only when written, so
    the unused tail of a grown pool costs address space, not memory; ``np.concatenate``
    wrote its zeros and made every pool resident at its full capacity."""
    new = np.zeros((array.shape[0], capacity, *array.shape[2:]), dtype=array.dtype)
    new[:, :array.shape[1]] = array
    return new


def ensure_capacity(tree: Tree, nodes_needed: int, edges_needed: int) -> None:
    """Grow the node or edge pool (doubling) so that each tree has room for the given totals."""
    if nodes_needed > tree.node_capacity:
        capacity = max(nodes_needed, 2 * tree.node_capacity)
        tree.nodes = grown(tree.nodes, capacity)
        tree.depth = grown(tree.depth, capacity)
    if edges_needed > tree.edge_capacity:
        tree.edges = grown(tree.edges, max(edges_needed, 2 * tree.edge_capacity))


def reset_trees(tree: Tree, which: np.ndarray) -> None:
    """Empty the trees ``which`` (bool[B]); their roots must be evaluated again."""
    tree.num_nodes[which] = 0
    tree.num_edges_used[which] = 0


@njit(cache=True)
def reroot_kernel(b, new_root, states, nodes, edges, depth, num_nodes, num_edges_used):
    """Make ``new_root``'s subtree the whole of tree ``b``, compacted in breadth-first order.

    ``states`` is ``[B, N, S]`` (an empty ``[B, N, 0]`` array for games whose states live in
    Python). Returns ``old_index[new_nodes]``, the old index of each kept node. Nodes keep
    their pending (virtual) visits, so call it between searches, not during one.
    """
    visits, value_sum, virtual = nodes.visits, nodes.value_sum, nodes.virtual
    parent, parent_edge, first_edge = nodes.parent, nodes.parent_edge, nodes.first_edge
    num_edges, expanded, terminal = nodes.num_edges, nodes.expanded, nodes.terminal
    raw_value = nodes.raw_value
    edge_action, edge_prior, edge_logit = edges.action, edges.prior, edges.logit
    edge_child, edge_visits, edge_value = edges.child, edges.visits, edges.value
    edge_virtual, edge_value_sq = edges.virtual, edges.value_sq
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
    for i in range(count):  # children point back at their new parents and edges
        for e in range(first_edge[b, i], first_edge[b, i] + num_edges[b, i]):
            child = edge_child[b, e]
            if child >= 0:
                parent[b, child] = i
                parent_edge[b, child] = e
                edges.child_first[b, e] = first_edge[b, child]
    num_nodes[b] = count
    num_edges_used[b] = edges_kept
    return order[:count].copy()
