"""The two compiled halves of a simulation step, around the one batched network call."""

from __future__ import annotations

import numpy as np
from numba import njit

from search.kernels import (
    GUMBEL,
    LEARNED,
    backup,
    gumbel_interior_select,
    gumbel_root_select,
    prefetch,
    puct_select,
)
from search.learned import learned_residual

PREFETCH_EDGES = 8  # edges of a child fetched ahead (four cache lines)
GROUP = 16  # trees descended together (see select_leaves)


@njit(cache=True, error_model="numpy")
def select_leaves(rule, params, leaves_per_step, budget, remaining, schedule, sims_started,
                  learned_w, backup_w, control, sample_tau, sample_noise, rec_feats, rec_scores,
                  rec_children, rec_choice, rec_sim, rec_count, scratch, extra, features,
                  root_gumbel, root_started, nodes, edges, depth, num_nodes, num_edges_used,
                  out_tree,
                  out_parent, out_action, out_node, out_collision):
    """Descend every tree with remaining budget up to ``leaves_per_step`` times.

    Each descent ends in one of three ways: at a move never tried before (a new node is
    created, virtual loss is applied along its path, and it is written to the ``out_*``
    arrays for the game step and the network); at a terminal node (its exact value is backed
    up at once); or at a node still waiting for its evaluation (a collision: one more
    virtual loss goes on that path, so the next descent turns elsewhere, and the node goes to
    ``out_collision`` so that ``clear_collisions`` removes it after the step; a tree stops
    after ``leaves_per_step`` collisions). ``remaining[b]`` and ``sims_started[b]`` count
    simulations, i.e. new leaves plus terminal hits; ``budget`` is this search's total.

    Trees are descended ``GROUP`` at a time, one level each in turn: a level ends by
    prefetching the chosen child, whose record and edges then arrive while the other trees of
    the group take their own step, instead of each descent waiting on memory alone. Every
    tree still does exactly what it would alone, and the outputs are in tree order.

    ``backup_w``: the learned backup's weights (arm LEARNED; empty: the mean backup), used
    when a descent ends at a terminal node. Training the learned rule (arm LEARNED only), two
    modes; decision d of tree b goes to
    ``rec_feats[b, d]`` (float64[B, D, W, F], the children's features), ``rec_scores[b, d]``
    (float64[B, D, W], their PUCT scores without the residual), ``rec_children[b, d]`` (their
    number), ``rec_choice[b, d]`` (the child taken) and ``rec_sim[b, d]`` (the simulation);
    ``rec_count[b]`` counts the decisions made.

    * ``sample_tau > 0``: every decision is sampled from softmax((PUCT + residual) / tau) by
      taking argmax(PUCT + residual + tau * sample_noise[b, d, i]) with pre-drawn Gumbel noise
      (float64[B, D, W]), and recorded. Past D decisions, the rule's own choice is taken and
      only ``rec_count`` grows (overflow: ``rec_count[b] > D``).
    * else ``control[b] = (simulation, depth, child)`` marks one decision of tree b (-1: none):
      it is recorded at d = 0 and, if ``child >= 0``, that child is taken instead of the rule's
      choice (a one-step deviation).

    ``scratch`` / ``extra`` (float64[W]) and ``features`` (float64[W, F]) are work arrays at
    least as wide as the widest node; ``root_gumbel[b, i]`` (float32[B, W]) is the Gumbel
    noise of root child i and ``root_started[b, i]`` (int32[B, W], Gumbel only) the
    simulations started through it in this search, finished or in flight (sequential halving
    follows its schedule on these, see ``gumbel_root_select``). Returns (leaves written,
    terminal hits, collisions, trees with budget left).
    """
    visits, value_sum, virtual = nodes.visits, nodes.value_sum, nodes.virtual
    parent, parent_edge, first_edge = nodes.parent, nodes.parent_edge, nodes.first_edge
    num_edges, expanded, terminal = nodes.num_edges, nodes.expanded, nodes.terminal
    raw_value = nodes.raw_value
    edge_action, edge_prior, edge_logit = edges.action, edges.prior, edges.logit
    edge_child, edge_visits, edge_value = edges.child, edges.visits, edges.value
    edge_virtual, edge_value_sq = edges.virtual, edges.value_sq
    edge_child_first = edges.child_first
    k = leaves_per_step
    group = min(GROUP, visits.shape[0])
    at_node = np.zeros(group, dtype=np.int64)  # per slot: the node its descent is at
    level = np.zeros(group, dtype=np.int64)  # plies below the root (= depth[b, node])
    root_child = np.zeros(group, dtype=np.int64)  # the root child this descent went through
    busy = np.zeros(group, dtype=np.bool_)
    leaves_here = np.zeros(group, dtype=np.int64)  # new leaves and terminal hits
    collided_here = np.zeros(group, dtype=np.int64)
    new_leaves = np.zeros(group, dtype=np.int64)  # new leaves only
    new_parent = np.empty((group, k), dtype=np.int32)
    new_action = np.empty((group, k), dtype=np.int32)
    new_node = np.empty((group, k), dtype=np.int32)
    collided_node = np.empty((group, k), dtype=np.int32)
    num_leaves = 0
    hits = 0
    collisions = 0
    live = 0
    for g0 in range(0, visits.shape[0], group):
        slots = min(group, visits.shape[0] - g0)
        running = 0
        for s in range(slots):
            leaves_here[s] = 0
            collided_here[s] = 0
            new_leaves[s] = 0
            at_node[s] = 0
            level[s] = 0
            busy[s] = remaining[g0 + s] > 0
            running += busy[s]
        while running > 0:
            for s in range(slots):
                if not busy[s]:
                    continue
                b = g0 + s
                node = at_node[s]
                ended = True
                if terminal[b, node]:
                    backup(b, node, raw_value[b, node], 0, visits, value_sum, virtual, parent,
                           parent_edge, edge_visits, edge_value, edge_virtual, edge_value_sq,
                           backup_w, first_edge, num_edges)
                    hits += 1
                    leaves_here[s] += 1
                    remaining[b] -= 1
                    sims_started[b] += 1
                    if rule == GUMBEL:
                        root_started[b, root_child[s]] += 1
                elif not expanded[b, node]:  # waiting for its evaluation: a collision
                    _add_virtual(b, node, 1, virtual, parent, parent_edge, edge_virtual)
                    collided_node[s, collided_here[s]] = node
                    collided_here[s] += 1
                else:
                    if rule == GUMBEL:
                        if node == 0:
                            target = schedule[b, min(sims_started[b], schedule.shape[1] - 1)]
                            i = gumbel_root_select(b, params, target, raw_value, first_edge,
                                                   num_edges, edge_prior, edge_logit,
                                                   root_gumbel, root_started, edge_visits,
                                                   edge_value, scratch)
                            root_child[s] = i
                        else:
                            i = gumbel_interior_select(b, node, params, raw_value, first_edge,
                                                       num_edges, edge_prior, edge_logit,
                                                       edge_visits, edge_value, edge_virtual,
                                                       scratch)
                    else:
                        if rule == LEARNED:
                            learned_residual(b, node, params, learned_w, remaining[b], budget,
                                             visits, value_sum, raw_value, depth, first_edge,
                                             num_edges, edge_prior, edge_child, edge_visits,
                                             edge_value, edge_value_sq, features, extra)
                        i = puct_select(b, node, params, visits, value_sum, virtual,
                                        first_edge, num_edges, edge_prior, edge_visits,
                                        edge_value, edge_virtual, extra, rule == LEARNED,
                                        scratch)
                        if rule == LEARNED:
                            i = _record_decision(b, node, i, control, sample_tau,
                                                 sample_noise, sims_started, depth, num_edges,
                                                 scratch, extra, features, rec_feats,
                                                 rec_scores, rec_children, rec_choice, rec_sim,
                                                 rec_count)
                    e = first_edge[b, node] + i
                    child = edge_child[b, e]
                    if child >= 0:  # go down: fetch the child while the others take a turn
                        prefetch(nodes, b, child)
                        first = edge_child_first[b, e]
                        for j in range(0, PREFETCH_EDGES, 2):  # two edges per cache line
                            prefetch(edges, b, first + j)
                        at_node[s] = child
                        level[s] += 1
                        ended = False
                    else:
                        child = _new_child(b, node, e, level[s] + 1, nodes, depth, num_nodes,
                                           virtual, parent, parent_edge, edge_child,
                                           edge_virtual)
                        j = new_leaves[s]
                        new_parent[s, j] = node
                        new_action[s, j] = edge_action[b, e]
                        new_node[s, j] = child
                        new_leaves[s] += 1
                        leaves_here[s] += 1
                        remaining[b] -= 1
                        sims_started[b] += 1
                        if rule == GUMBEL:
                            root_started[b, root_child[s]] += 1
                if ended:  # another descent from the root, or this tree is done for the step
                    at_node[s] = 0
                    level[s] = 0
                    if not (leaves_here[s] < k and collided_here[s] < k and remaining[b] > 0):
                        busy[s] = False
                        running -= 1
        for s in range(slots):  # outputs in tree order, as if the trees went one by one
            b = g0 + s
            for j in range(new_leaves[s]):
                out_tree[num_leaves] = b
                out_parent[num_leaves] = new_parent[s, j]
                out_action[num_leaves] = new_action[s, j]
                out_node[num_leaves] = new_node[s, j]
                num_leaves += 1
            for j in range(collided_here[s]):
                out_collision[2 * collisions] = b
                out_collision[2 * collisions + 1] = collided_node[s, j]
                collisions += 1
            if remaining[b] > 0:
                live += 1
    return num_leaves, hits, collisions, live


@njit(cache=True, inline="always")
def _record_decision(b, node, i, control, sample_tau, sample_noise, sims_started, depth,
                     num_edges, scratch, extra, features, rec_feats, rec_scores, rec_children,
                     rec_choice, rec_sim, rec_count):
    """The learned rule's training hook (see ``select_leaves``): sample and record every
    decision, or record (and force) the one ``control[b]`` names. Returns the child to take."""
    count = num_edges[b, node]
    if sample_tau > 0.0:
        d = rec_count[b]
        rec_count[b] = d + 1
        if d >= rec_scores.shape[1]:  # overflow: the rule's own choice, unrecorded
            return i
        best_score = -np.inf
        for j in range(count):  # Gumbel-max: an exact sample of softmax(score / tau)
            score = scratch[j] + extra[j] + sample_tau * sample_noise[b, d, j]
            if score > best_score:
                best_score = score
                i = j
    elif (control[b, 0] == sims_started[b] and control[b, 1] == depth[b, node]
            and rec_count[b] == 0):
        d = 0
        rec_count[b] = 1
        if 0 <= control[b, 2] < count:
            i = control[b, 2]
    else:
        return i
    for j in range(count):
        rec_scores[b, d, j] = scratch[j]
        for f in range(features.shape[1]):
            rec_feats[b, d, j, f] = features[j, f]
    rec_children[b, d] = count
    rec_choice[b, d] = i
    rec_sim[b, d] = sims_started[b]
    return i


@njit(cache=True, inline="always")
def _new_child(b, node, e, child_depth, nodes, depth, num_nodes, virtual, parent, parent_edge,
               edge_child, edge_virtual):
    """Create the child of ``node`` behind edge ``e`` (the next free node) with one pending
    visit along its path; returns its index."""
    child = num_nodes[b]
    num_nodes[b] += 1
    edge_child[b, e] = child
    record = nodes[b, child]
    record.parent = node
    record.parent_edge = e
    record.visits = 0
    record.value_sum = 0.0
    record.virtual = 0
    record.expanded = False
    record.terminal = False
    record.num_edges = 0
    record.first_edge = 0
    record.raw_value = 0.0
    depth[b, child] = child_depth
    _add_virtual(b, child, 1, virtual, parent, parent_edge, edge_virtual)
    return child


@njit(cache=True, inline="always")
def _add_virtual(b, node, amount, virtual, parent, parent_edge, edge_virtual):
    while node >= 0:
        virtual[b, node] += amount
        if parent_edge[b, node] >= 0:
            edge_virtual[b, parent_edge[b, node]] += amount
        node = parent[b, node]


@njit(cache=True)
def clear_collisions(collided, count, nodes, edges):
    """Remove the virtual losses that collisions added (``collided``: pairs tree, node)."""
    virtual, parent, parent_edge = nodes.virtual, nodes.parent, nodes.parent_edge
    edge_virtual = edges.virtual
    for i in range(count):
        _add_virtual(collided[2 * i], collided[2 * i + 1], -1, virtual, parent, parent_edge,
                     edge_virtual)


@njit(cache=True, error_model="numpy")
def expand_and_backup(leaf_tree, leaf_node, legal, logits, values, is_terminal, terminal_value,
                      nodes, edges, num_edges_used, remove_virtual, backup_w):
    """Give each leaf its edges (softmax of the legal logits) and back up its value
    (``backup_w``: the learned backup's weights, or empty for the mean backup; see
    ``kernels.backup``).

    ``legal``: bool[M, A]; ``logits``: float32[M, A] (rows of terminal leaves are ignored);
    ``values``: float32[M] network values, side to move at the leaf; terminal leaves use the
    exact ``terminal_value`` instead. The edge pool must have room (the driver checks).
    Returns the most edges used by any of the leaves' trees.
    """
    visits, value_sum, virtual = nodes.visits, nodes.value_sum, nodes.virtual
    parent, parent_edge, first_edge = nodes.parent, nodes.parent_edge, nodes.first_edge
    num_edges, expanded, terminal = nodes.num_edges, nodes.expanded, nodes.terminal
    raw_value = nodes.raw_value
    edge_action, edge_prior, edge_logit = edges.action, edges.prior, edges.logit
    edge_child, edge_visits, edge_value = edges.child, edges.visits, edges.value
    edge_virtual, edge_value_sq = edges.virtual, edges.value_sq
    edge_child_first = edges.child_first
    num_actions = legal.shape[1]
    most_edges = 0
    for m in range(leaf_tree.shape[0]):
        b = leaf_tree[m]
        node = leaf_node[m]
        expanded[b, node] = True
        if is_terminal[m]:
            terminal[b, node] = True
            value = terminal_value[m]
        else:
            value = values[m]
            top = -np.inf
            for a in range(num_actions):
                if legal[m, a] and logits[m, a] > top:
                    top = logits[m, a]
            first = num_edges_used[b]
            count = 0
            total = 0.0
            for a in range(num_actions):
                if legal[m, a]:
                    e = first + count
                    edge_action[b, e] = a
                    edge_logit[b, e] = logits[m, a] - top
                    p = np.exp(logits[m, a] - top)
                    edge_prior[b, e] = p
                    edge_child[b, e] = -1
                    edge_child_first[b, e] = 0
                    edge_visits[b, e] = 0
                    edge_value[b, e] = 0.0
                    edge_value_sq[b, e] = 0.0
                    edge_virtual[b, e] = 0
                    total += p
                    count += 1
            for e in range(first, first + count):
                edge_prior[b, e] /= total
            first_edge[b, node] = first
            num_edges[b, node] = count
            if parent_edge[b, node] >= 0:
                edge_child_first[b, parent_edge[b, node]] = first
            num_edges_used[b] = first + count
            if count == 0:  # no legal move but not terminal: a game bug, score as a draw
                terminal[b, node] = True
                value = 0.0
        raw_value[b, node] = value
        backup(b, node, value, remove_virtual, visits, value_sum, virtual, parent, parent_edge,
               edge_visits, edge_value, edge_virtual, edge_value_sq, backup_w, first_edge,
               num_edges)
        most_edges = max(most_edges, num_edges_used[b])
    return most_edges


@njit(cache=True, error_model="numpy")
def root_statistics(num_actions, nodes, edges, out_visits, out_q):
    """Dense per-action root visits and Q (root side to move; NaN for unvisited)."""
    first_edge, num_edges = nodes.first_edge, nodes.num_edges
    edge_action, edge_visits, edge_value = edges.action, edges.visits, edges.value
    for b in range(first_edge.shape[0]):
        for a in range(num_actions):
            out_visits[b, a] = 0
            out_q[b, a] = np.nan
        for e in range(first_edge[b, 0], first_edge[b, 0] + num_edges[b, 0]):
            a = edge_action[b, e]
            if edge_visits[b, e] > 0:
                out_visits[b, a] = edge_visits[b, e]
                out_q[b, a] = edge_value[b, e] / edge_visits[b, e]
