"""Learned search: small networks that steer selection and read out the move.

*Selection*: an MLP scores each child from features of the tree and adds a residual to
PUCT's score. Its last layer starts at zero, so an untrained learned search is exactly PUCT.
It runs inside the Numba descent from plain float64 arrays (exported from torch by
``alphazero/learned_search.py``), so a descent stays one compiled call per step.

*Readout*: an MLP over the root's statistics adds a residual to ``log(N + 1)``; at zero it
picks the most visited move, like PUCT's readout.

*Target*: the policy self-play trains the network toward, from the root's statistics
(``improved_policy``): ``(1 - lam) * N / sum(N) + lam * softmax(beta log P + gamma q + delta
log(1 + N))`` over the legal moves, ``q`` the completed Q (the root's value where unvisited).
At lam = 0 (its start) it is the visit shares the search returns, bit for bit.

*Backup*: how an evaluation's value reaches the ancestors of its leaf. At each ancestor the
value passed on is moved toward that node's best child by a learned weight ``w = clip(backup
. features, 0, 1)`` (``search.kernels.backup_mix``): w = 0 everywhere (all-zero or empty
weights) is the mean backup, bit for bit; w = 1 backs up the best child's Q, as a max backup.

Selection features of child ``a`` of node ``s`` (``SELECTION_FEATURES``), all from the side
to move at ``s``: prior, Q (the first-play value when unvisited), visited flag, visit share
N(a)/N(s), log(1+N(a))/5, PUCT's exploration bonus, the child's own network value, the spread
(standard deviation) of the values backed up through it, depth/10, the fraction of the budget
left, and log2(budget)/10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from search.kernels import BACKUP_FEATURES, P_C_BASE, P_C_INIT, P_FPU_REDUCTION, node_value

SELECTION_FEATURES = ("prior", "q", "visited", "visit_share", "log_visits", "puct_bonus",
                      "child_value", "value_spread", "depth", "budget_left", "log_budget")
READOUT_FEATURES = ("prior", "q", "visited", "visit_share", "log_visits", "log_budget")
NUM_SELECTION_FEATURES = len(SELECTION_FEATURES)
NUM_READOUT_FEATURES = len(READOUT_FEATURES)
HIDDEN = 16


def mlp_size(num_inputs: int, hidden: int = HIDDEN) -> int:
    """Flat length of [W1 (in x h), b1, W2 (h x h), b2, w3 (h), b3]."""
    return num_inputs * hidden + hidden + hidden * hidden + hidden + hidden + 1


SELECTION_SIZE = mlp_size(NUM_SELECTION_FEATURES)
READOUT_SIZE = mlp_size(NUM_READOUT_FEATURES)
BACKUP_SIZE = BACKUP_FEATURES
"""The learned backup's weights (``search.kernels.backup_mix``): one per feature."""
TARGET_PARAMETERS = ("lam", "beta", "gamma", "delta")
TARGET_SIZE = len(TARGET_PARAMETERS)
TARGET_START = np.array([0.0, 1.0, 0.0, 0.0])
"""lam = 0: the visit shares; beta = 1: were lam raised, the mixed-in part starts as the prior."""


@njit(cache=True, error_model="numpy")
def mlp_forward(weights, x, num_inputs, hidden):
    """The two-hidden-layer tanh MLP stored flat in ``weights``; returns a scalar."""
    o = 0
    w1 = o
    o += num_inputs * hidden
    b1 = o
    o += hidden
    w2 = o
    o += hidden * hidden
    b2 = o
    o += hidden
    w3 = o
    o += hidden
    b3 = o
    h1 = np.empty(hidden)
    for j in range(hidden):
        acc = weights[b1 + j]
        for k in range(num_inputs):
            acc += x[k] * weights[w1 + k * hidden + j]
        h1[j] = np.tanh(acc)
    out = weights[b3]
    for j in range(hidden):
        acc = weights[b2 + j]
        for k in range(hidden):
            acc += h1[k] * weights[w2 + k * hidden + j]
        out += np.tanh(acc) * weights[w3 + j]
    return out


@njit(cache=True, error_model="numpy")
def selection_features(b, node, i, params, remaining, budget, visits, value_sum, raw_value,
                       depth, first_edge, edge_prior, edge_child, edge_visits, edge_value,
                       edge_value_sq, out):
    """Write child ``i`` of ``node``'s features (``SELECTION_FEATURES``) into ``out``."""
    e = first_edge[b, node] + i
    parent_n = visits[b, node]
    nv = edge_visits[b, e]
    fpu = node_value(b, node, visits, value_sum) - params[P_FPU_REDUCTION]
    c = np.log((1.0 + parent_n + params[P_C_BASE]) / params[P_C_BASE]) + params[P_C_INIT]
    prior = edge_prior[b, e]
    out[0] = prior
    out[1] = edge_value[b, e] / nv if nv > 0 else fpu
    out[2] = 1.0 if nv > 0 else 0.0
    out[3] = nv / max(parent_n, 1)
    out[4] = np.log1p(nv) / 5.0
    out[5] = c * prior * np.sqrt(parent_n) / (1.0 + nv)
    child = edge_child[b, e]
    out[6] = -raw_value[b, child] if child >= 0 and nv > 0 else 0.0
    spread = 0.0
    if nv > 1:
        mean = edge_value[b, e] / nv
        spread = np.sqrt(max(edge_value_sq[b, e] / nv - mean * mean, 0.0))
    out[7] = spread
    out[8] = depth[b, node] / 10.0
    out[9] = remaining / max(budget, 1)
    out[10] = np.log2(max(budget, 1)) / 10.0


@njit(cache=True, error_model="numpy")
def learned_residual(b, node, params, weights, remaining, budget, visits, value_sum, raw_value,
                     depth, first_edge, num_edges, edge_prior, edge_child, edge_visits,
                     edge_value, edge_value_sq, features, out):
    """Features of each of ``node``'s children into ``features[i]`` and the selection
    network's residual into ``out[i]`` (zero when ``weights`` is empty)."""
    for i in range(num_edges[b, node]):
        selection_features(b, node, i, params, remaining, budget, visits, value_sum, raw_value,
                           depth, first_edge, edge_prior, edge_child, edge_visits, edge_value,
                           edge_value_sq, features[i])
        if weights.shape[0] == 0:
            out[i] = 0.0
        else:
            out[i] = mlp_forward(weights, features[i], NUM_SELECTION_FEATURES, HIDDEN)


def readout_features(visits: np.ndarray, prior: np.ndarray, q: np.ndarray, root_value: float,
                     budget: int) -> np.ndarray:
    """float64[A, R] readout features of one root's moves (``READOUT_FEATURES``)."""
    visits = visits.astype(np.float64)
    total = max(visits.sum(), 1.0)
    feats = np.zeros((visits.shape[0], NUM_READOUT_FEATURES))
    feats[:, 0] = prior
    feats[:, 1] = np.where(visits > 0, np.nan_to_num(q, nan=root_value), root_value)
    feats[:, 2] = visits > 0
    feats[:, 3] = visits / total
    feats[:, 4] = np.log1p(visits) / 5.0
    feats[:, 5] = np.log2(max(budget, 1)) / 10.0
    return feats


def readout_logits(weights: np.ndarray, visits: np.ndarray, prior: np.ndarray, q: np.ndarray,
                   legal: np.ndarray, root_value: float, budget: int) -> np.ndarray:
    """log(N + 1) plus the readout residual, -inf for illegal moves (float64[A])."""
    logits = np.log1p(visits.astype(np.float64))
    if weights.size:
        feats = readout_features(visits, prior, q, root_value, budget)
        for a in np.flatnonzero(legal):
            logits[a] += mlp_forward(weights, feats[a], NUM_READOUT_FEATURES, HIDDEN)
    return np.where(legal, logits, -np.inf)


def completed_q(visits: np.ndarray, q: np.ndarray, root_value: np.ndarray) -> np.ndarray:
    """float64[..., A]: Q where a move was visited, the root's value elsewhere."""
    root = np.asarray(root_value, dtype=np.float64)[..., None]
    return np.where(visits > 0, np.nan_to_num(q.astype(np.float64), nan=0.0), root)


def improved_policy(target: np.ndarray, policy: np.ndarray, visits: np.ndarray,
                    prior: np.ndarray, q: np.ndarray, root_value: np.ndarray) -> np.ndarray:
    """The learned training target of ``[B, A]`` roots (``SearchResult`` fields), float32.

    ``target`` (``TARGET_PARAMETERS``, or empty) mixes a softmax of the prior, completed Q and
    visits into the visit shares; empty or lam = 0 returns ``policy`` itself (the search's own
    target), so an untrained target map is today's rule exactly. Illegal moves (prior 0) get 0.
    """
    if target.size == 0 or target[0] == 0.0:
        return policy
    lam, beta, gamma, delta = (float(v) for v in target)
    legal = prior > 0
    n = visits.astype(np.float64)
    logits = (beta * np.log(np.where(legal, prior, 1.0)) + gamma * completed_q(n, q, root_value)
              + delta * np.log1p(n))
    logits = np.where(legal, logits, -np.inf)
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    mixed = z / z.sum(axis=-1, keepdims=True)
    total = n.sum(axis=-1, keepdims=True)
    shares = np.where(total > 0, n / np.maximum(total, 1.0), mixed)
    return ((1.0 - lam) * shares + lam * mixed).astype(np.float32)


@dataclass
class Decisions:
    """The learned rule's decisions one search recorded for training (``BatchedMCTS.run``
    with ``control`` or ``sample_temperature``): up to D per tree, in the order they were made.

    Slots ``[b, d]`` with ``d < recorded[b]`` are filled; the children of decision d are the
    first ``children[b, d]`` of its W slots, in the order of the node's edges.
    """

    features: np.ndarray  # float64[B, D, W, F], SELECTION_FEATURES of each child
    scores: np.ndarray  # float64[B, D, W], PUCT's score of each child (without the residual)
    children: np.ndarray  # int32[B, D], number of children
    choice: np.ndarray  # int32[B, D], the child taken (its slot)
    simulation: np.ndarray  # int32[B, D], the simulation (0-based, within this search)
    count: np.ndarray  # int32[B], decisions made; more than D: only the first D recorded

    @classmethod
    def allocate(cls, batch_size: int, max_decisions: int, width: int) -> Decisions:
        shape = (batch_size, max_decisions)
        return cls(features=np.zeros((*shape, width, NUM_SELECTION_FEATURES)),
                   scores=np.zeros((*shape, width)), children=np.zeros(shape, np.int32),
                   choice=np.zeros(shape, np.int32), simulation=np.zeros(shape, np.int32),
                   count=np.zeros(batch_size, np.int32))

    @property
    def max_decisions(self) -> int:
        return self.scores.shape[1]

    @property
    def recorded(self) -> np.ndarray:
        """int[B]: decisions recorded per tree."""
        return np.minimum(self.count, self.max_decisions)

    @property
    def overflow(self) -> np.ndarray:
        """bool[B]: more decisions were made than recorded."""
        return self.count > self.max_decisions

    def arrays(self) -> tuple:
        """The arrays ``select_leaves`` takes, in the order of its parameters."""
        return (self.features, self.scores, self.children, self.choice, self.simulation,
                self.count)


class LearnedWeights:
    """The learned search's flat weight vectors (empty = the hand-written rule).

    ``selection``: float64[SELECTION_SIZE] or empty; ``readout``: float64[READOUT_SIZE] or
    empty; ``target``: float64[TARGET_SIZE] or empty (the search's own policy as the training
    target, see ``improved_policy``); ``backup``: float64[BACKUP_SIZE] or empty (the mean
    backup; see ``search.kernels.backup_mix``). Built by ``nets.search_weights`` from its torch
    modules.
    """

    def __init__(self, selection: np.ndarray | None = None, readout: np.ndarray | None = None,
                 target: np.ndarray | None = None, backup: np.ndarray | None = None):
        self.selection = _flat(selection, SELECTION_SIZE, "selection")
        self.readout = _flat(readout, READOUT_SIZE, "readout")
        self.target = _flat(target, TARGET_SIZE, "target")
        self.backup = _flat(backup, BACKUP_SIZE, "backup")
        if not (np.isfinite(self.target).all() and np.isfinite(self.backup).all()):
            raise ValueError("learned target and backup weights must be finite")

    @classmethod
    def untrained(cls) -> LearnedWeights:
        return cls()


def _flat(weights, size: int, name: str) -> np.ndarray:
    if weights is None:
        return np.zeros(0, dtype=np.float64)
    weights = np.ascontiguousarray(weights, dtype=np.float64).ravel()
    if weights.size not in (0, size):
        raise ValueError(f"learned {name} weights must have {size} values, not {weights.size}")
    return weights
