"""Gumbel AlphaZero pieces outside the descent: the visit schedule and the root readout."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit

from search.kernels import P_C_SCALE, P_C_VISIT, completed_q


@lru_cache(maxsize=256)
def considered_visit_sequence(num_considered: int, num_simulations: int) -> np.ndarray:
    """int32[num_simulations]: before simulation i, the root child to visit is one whose
    visit count equals entry i (sequential halving over ``num_considered`` actions).

    Each phase visits every surviving action equally, then halves the survivors (never
    below two), spreading the budget evenly over about log2(m) phases.
    """
    num_simulations = max(num_simulations, 1)
    if num_considered <= 1:
        return np.arange(num_simulations, dtype=np.int32)
    phases = max(1, math.ceil(math.log2(num_considered)))
    survivors = num_considered
    counts = [0] * num_considered
    sequence: list[int] = []
    while len(sequence) < num_simulations:
        rounds = max(1, num_simulations // (phases * survivors))
        for _ in range(rounds):
            sequence.extend(counts[:survivors])
            for i in range(survivors):
                counts[i] += 1
        survivors = max(2, survivors // 2)
    return np.asarray(sequence[:num_simulations], dtype=np.int32)


@njit(cache=True)
def gumbel_readout(params, nodes, edges, root_gumbel, out_policy, out_action):
    """Per tree: the improved policy softmax(logit + sigma(completed Q)) over legal moves, and
    the action maximising g + logit + sigma(completed Q) among the most visited children."""
    raw_value, first_edge, num_edges = nodes.raw_value, nodes.first_edge, nodes.num_edges
    edge_action, edge_prior, edge_logit = edges.action, edges.prior, edges.logit
    edge_visits, edge_value = edges.visits, edges.value
    for b in range(first_edge.shape[0]):
        count = num_edges[b, 0]
        out_action[b] = -1
        for a in range(out_policy.shape[1]):
            out_policy[b, a] = 0.0
        if count == 0:
            continue
        first = first_edge[b, 0]
        q = np.zeros(count, dtype=np.float64)
        max_n = completed_q(b, 0, raw_value, first_edge, num_edges, edge_prior, edge_visits,
                            edge_value, q)
        sigma = (params[P_C_VISIT] + max_n) * params[P_C_SCALE]
        top = -np.inf
        best_score = -np.inf
        for i in range(count):
            e = first + i
            score = edge_logit[b, e] + sigma * q[i]
            top = max(top, score)
            if edge_visits[b, e] == max_n and score + root_gumbel[b, i] > best_score:
                best_score = score + root_gumbel[b, i]
                out_action[b] = edge_action[b, e]
        total = 0.0
        for i in range(count):
            e = first + i
            p = np.exp(edge_logit[b, e] + sigma * q[i] - top)
            out_policy[b, edge_action[b, e]] = p
            total += p
        for i in range(count):
            out_policy[b, edge_action[b, first + i]] /= total
