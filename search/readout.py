"""Reading a move out of a finished search at the root (PUCT's and the learned readout).

Gumbel's readout is a Numba kernel (``search.gumbel.gumbel_readout``); these two run per tree in
Python, on the root's statistics.
"""

from __future__ import annotations

import numpy as np

from search.learned import readout_logits


def choose_by_visits(visits: np.ndarray, prior: np.ndarray, temperature: float,
                     rng: np.random.Generator) -> int:
    """The most visited move (exact ties: the higher prior), or a move sampled in proportion
    to visits ** (1 / temperature). Without visits, the network's favourite."""
    if visits.sum() == 0:  # no search (simulations=0)
        return int(np.argmax(prior))
    if temperature <= 0:
        best = np.flatnonzero(visits == visits.max())
        return int(best[np.argmax(prior[best])])
    weights = visits.astype(np.float64) ** (1.0 / temperature)
    return int(rng.choice(len(weights), p=weights / weights.sum()))


def learned_choice(readout: np.ndarray, visits: np.ndarray, prior: np.ndarray, q: np.ndarray,
                   root_value: float, budget: int, temperature: float,
                   rng: np.random.Generator) -> int:
    """The learned readout's move: the highest of ``readout_logits`` (exact ties: the higher
    prior, as in ``choose_by_visits``), or one sampled from their softmax at ``temperature``.
    Without visits (simulations=0) there is no search to read: the network's favourite, as
    ``choose_by_visits`` plays (the readout, trained on searched roots, would otherwise pick
    by its residual alone, far from anything it was trained on)."""
    if visits.sum() == 0:
        return int(np.argmax(prior))
    legal = prior > 0
    logits = readout_logits(readout, visits, prior, q, legal, float(root_value), budget)
    if temperature <= 0:
        return int(np.argmax(logits + 1e-9 * prior))
    z = (logits - logits.max()) / temperature
    p = np.exp(z)
    return int(rng.choice(len(p), p=p / p.sum()))
