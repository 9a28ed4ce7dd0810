"""Learned search: a small network that adds a residual to PUCT's child scores.

The learned selection network arrives with the learned-search issue; until then the
residual is zero, so ``arm: learned`` behaves exactly as PUCT and the driver refuses to
run it without trained weights.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def learned_residual(b, node, params, weights, remaining, budget, visits, value_sum, virtual,
                     raw_value, depth, first_edge, num_edges, edge_prior, edge_visits, edge_value,
                     edge_virtual, scratch, out):
    """Write the learned residual of each of ``node``'s children into ``out``."""
    for i in range(num_edges[b, node]):
        out[i] = 0.0
