"""Numba kernels of one simulation step: select leaves, then expand and back up.

Selection rules are integers so the rules share one descent loop:
``PUCT`` (AlphaZero), ``GUMBEL`` (Gumbel AlphaZero: sequential halving at the root,
deterministic completed-Q selection below it) and ``LEARNED`` (PUCT plus a learned
residual, see search/learned.py).

``params`` is a float64 vector, indexed by the ``P_*`` constants below.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic

PUCT, GUMBEL, LEARNED = 0, 1, 2
P_C_INIT, P_C_BASE, P_FPU_REDUCTION, P_VIRTUAL_LOSS, P_C_VISIT, P_C_SCALE = range(6)
NUM_PARAMS = 6


@intrinsic
def prefetch(typingctx, array, b, i):
    """Ask the CPU to start loading ``array[b, i]`` into cache (``llvm.prefetch``). A hint
    only: results never depend on it, and an index past the end is harmless."""
    sig = types.void(array, b, i)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        index = [context.cast(builder, args[k], signature.args[k], types.intp) for k in (1, 2)]
        ptr = cgutils.get_item_pointer(context, builder, array_type, ary, index)
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, error_model="numpy", inline="always")
def node_value(b, n, visits, value_sum):
    """Mean value of node n from the side to move at n (0 when never visited)."""
    if visits[b, n] == 0:
        return 0.0
    return -value_sum[b, n] / visits[b, n]


@njit(cache=True, error_model="numpy", inline="always")
def completed_q(b, n, raw_value, first_edge, num_edges, edge_prior, edge_visits, edge_value,
                out_q):
    """Gumbel's completed Q of n's children, rescaled to [0, 1]: visited children keep their
    mean value, unvisited ones get v_mix. Returns the largest child visit count."""
    first = first_edge[b, n]
    count = num_edges[b, n]
    sum_n = 0.0
    sum_p = 0.0
    sum_pq = 0.0
    max_n = 0
    for e in range(first, first + count):
        nv = edge_visits[b, e]
        if nv > 0:
            sum_n += nv
            sum_p += edge_prior[b, e]
            sum_pq += edge_prior[b, e] * edge_value[b, e] / nv
            max_n = max(max_n, nv)
    v_mix = raw_value[b, n]
    if sum_n > 0 and sum_p > 0:
        v_mix = (raw_value[b, n] + sum_n * sum_pq / sum_p) / (1.0 + sum_n)
    lo = 1e9
    hi = -1e9
    for i in range(count):
        nv = edge_visits[b, first + i]
        q = edge_value[b, first + i] / nv if nv > 0 else v_mix
        out_q[i] = q
        lo = min(lo, q)
        hi = max(hi, q)
    scale = max(hi - lo, 1e-8)
    for i in range(count):
        out_q[i] = (out_q[i] - lo) / scale
    return max_n


@njit(cache=True, error_model="numpy", inline="always")
def puct_select(b, n, params, visits, value_sum, virtual, first_edge, num_edges, edge_prior,
                edge_visits, edge_value, edge_virtual, extra, use_extra, scores):
    """Index (within n's edges) of the child maximising Q + U (+ ``extra[i]`` if
    ``use_extra``); PUCT's own scores go to ``scores``. Pending visits count as losses of
    ``virtual_loss`` each."""
    vl = params[P_VIRTUAL_LOSS]
    parent_n = visits[b, n] + virtual[b, n]
    c = np.log((1.0 + parent_n + params[P_C_BASE]) / params[P_C_BASE]) + params[P_C_INIT]
    c_sqrt = c * np.sqrt(parent_n)
    fpu = node_value(b, n, visits, value_sum) - params[P_FPU_REDUCTION]
    first = first_edge[b, n]
    best = 0
    best_score = -np.inf
    for i in range(num_edges[b, n]):
        e = first + i
        pending = edge_virtual[b, e]
        nc = edge_visits[b, e] + pending
        q = fpu
        if nc > 0:
            q = (edge_value[b, e] - vl * pending) / nc
        score = q + c_sqrt * edge_prior[b, e] / (1.0 + nc)
        scores[i] = score
        if use_extra:
            score += extra[i]
        if score > best_score:
            best_score = score
            best = i
    return best


@njit(cache=True, error_model="numpy", inline="always")
def gumbel_interior_select(b, n, params, raw_value, first_edge, num_edges, edge_prior,
                           edge_logit, edge_visits, edge_value, edge_virtual, scratch):
    """Gumbel MuZero's deterministic rule: argmax pi'(a) - N(a) / (1 + sum N)."""
    count = num_edges[b, n]
    first = first_edge[b, n]
    max_n = completed_q(b, n, raw_value, first_edge, num_edges, edge_prior, edge_visits,
                        edge_value, scratch)
    sigma = (params[P_C_VISIT] + max_n) * params[P_C_SCALE]
    top = -np.inf
    for i in range(count):
        scratch[i] = edge_logit[b, first + i] + sigma * scratch[i]
        top = max(top, scratch[i])
    total = 0.0
    sum_n = 0.0
    for i in range(count):
        scratch[i] = np.exp(scratch[i] - top)
        total += scratch[i]
        sum_n += edge_visits[b, first + i] + edge_virtual[b, first + i]
    best = 0
    best_score = -np.inf
    for i in range(count):
        nc = edge_visits[b, first + i] + edge_virtual[b, first + i]
        score = scratch[i] / total - nc / (1.0 + sum_n)
        if score > best_score:
            best_score = score
            best = i
    return best


@njit(cache=True, error_model="numpy", inline="always")
def gumbel_root_select(b, params, target_visits, raw_value, first_edge, num_edges, edge_prior,
                       edge_logit, root_gumbel, root_started, edge_visits, edge_value, scratch):
    """Sequential halving at the root: among children whose simulations started so far
    (``root_started[b, i]``: finished plus in flight) number ``target_visits``, the best by
    g + logit + sigma(completed Q).

    The count is of simulations, not of virtual losses: a collision (a descent that met a
    node still waiting for its evaluation) adds a virtual loss along its path but starts no
    simulation, so it must not move a child off the schedule. Counting ``visits + virtual``
    here, as interior nodes do, let collisions push every child past its target until only
    the fallback (fewest visits) chose, and the visits came out flat.
    """
    count = num_edges[b, 0]
    first = first_edge[b, 0]
    max_n = completed_q(b, 0, raw_value, first_edge, num_edges, edge_prior, edge_visits,
                        edge_value, scratch)
    sigma = (params[P_C_VISIT] + max_n) * params[P_C_SCALE]
    best = -1
    best_score = -np.inf
    fallback = 0
    fallback_score = -np.inf
    for i in range(count):
        e = first + i
        nc = root_started[b, i]
        score = root_gumbel[b, i] + edge_logit[b, e] + sigma * scratch[i]
        if nc == target_visits and score > best_score:
            best_score = score
            best = i
        # Fallback (no child on the schedule: the search went on past the budget it was
        # scheduled for): fewest simulations, then score.
        score_fb = score - 1e6 * nc
        if score_fb > fallback_score:
            fallback_score = score_fb
            fallback = i
    return best if best >= 0 else fallback


BACKUP_FEATURES = 4
"""The learned backup's features of an interior node: 1, log(1 + N)/5, the share of its
children visited, and its best child's Q minus the visit-weighted mean of its children's Q."""


@njit(cache=True, error_model="numpy", inline="always")
def backup_mix(b, node, x, backup_w, visits, first_edge, num_edges, edge_visits, edge_value):
    """The learned backup at interior ``node``: ``x`` (the value being backed up, from the side
    that moved into ``node``) moved toward the node's best child, ``(1 - w) x + w (-max Q)``
    with ``w = clip(backup_w . features, 0, 1)``; ``w = 0`` (all-zero weights) returns ``x``
    itself, so the untrained backup is the mean backup exactly."""
    first = first_edge[b, node]
    count = num_edges[b, node]
    best = -np.inf
    total = 0.0
    seen = 0
    visited = 0
    for e in range(first, first + count):
        n = edge_visits[b, e]
        if n > 0:
            q = edge_value[b, e] / n
            best = max(best, q)
            total += edge_value[b, e]
            seen += n
            visited += 1
    if visited == 0:
        return x
    w = (backup_w[0] + backup_w[1] * np.log1p(visits[b, node]) / 5.0
         + backup_w[2] * visited / count + backup_w[3] * (best - total / seen))
    if not w > 0.0:  # also NaN
        return x
    w = min(w, 1.0)
    return (1.0 - w) * x - w * best


@njit(cache=True, error_model="numpy", inline="always")
def backup(b, node, value, remove_virtual, visits, value_sum, virtual, parent, parent_edge,
           edge_visits, edge_value, edge_virtual, edge_value_sq, backup_w, first_edge,
           num_edges):
    """Add ``value`` (side to move at ``node``) to node and its ancestors, signs alternating,
    on the nodes and on the edges leading to them; remove ``remove_virtual`` pending visits.

    ``backup_w`` (float64[BACKUP_FEATURES], or empty: the mean backup) is the learned backup:
    at every ancestor (not at ``node`` itself) the value passed on is first mixed with that
    ancestor's best child (``backup_mix``)."""
    x = -value
    learned = backup_w.size > 0
    first = True
    while node >= 0:
        if learned and not first:
            x = backup_mix(b, node, x, backup_w, visits, first_edge, num_edges, edge_visits,
                           edge_value)
        first = False
        value_sum[b, node] += x
        visits[b, node] += 1
        virtual[b, node] -= remove_virtual
        e = parent_edge[b, node]
        if e >= 0:
            edge_value[b, e] += x
            edge_value_sq[b, e] += x * x
            edge_visits[b, e] += 1
            edge_virtual[b, e] -= remove_virtual
        x = -x
        node = parent[b, node]
