"""The batched search driver: B trees, one network call per simulation step.

    select_leaves (njit) -> step the games to the leaves -> evaluate(obs, mask)
        -> expand_and_backup (njit)

Array games (tic-tac-toe, Connect Four) keep node states in a ``[B, N, S]`` int64 array and
step them with their own Numba kernels; packed games (chess) keep int64 rows in the same array
and step them in Python (``games.base.PackedGame``); other games keep Python states per node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from games.base import capabilities
from search.gumbel import considered_visit_sequence, gumbel_readout
from search.kernels import (
    GUMBEL,
    LEARNED,
    NUM_PARAMS,
    P_C_BASE,
    P_C_INIT,
    P_C_SCALE,
    P_C_VISIT,
    P_FPU_REDUCTION,
    P_VIRTUAL_LOSS,
    PUCT,
)
from search.learned import NUM_SELECTION_FEATURES, Decisions, LearnedWeights
from search.params import SearchParams
from search.readout import choose_by_visits, learned_choice
from search.step import clear_collisions, expand_and_backup, root_statistics, select_leaves
from search.tree import (
    MAX_ACTIONS,
    TreeView,
    allocate_tree,
    ensure_capacity,
    grown,
    reroot_kernel,
    tree_view,
)

EvaluateFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""The network as the search sees it (defined here once; ``nets`` and ``selfplay`` use it):
``evaluate(observations float32[M, C, H, W], legal_masks bool[M, A]) -> (logits float32[M, A],
values float32[M])``, values from the side to move's point of view."""
_RULES = {"puct": PUCT, "gumbel": GUMBEL, "learned": LEARNED}
_NO_BACKUP = np.zeros(0, dtype=np.float64)


def uniform_evaluate(observations: np.ndarray, legal_masks: np.ndarray):
    """An evaluator with equal logits and value 0: search tests and overhead benchmarks."""
    n = observations.shape[0]
    return np.zeros(legal_masks.shape, dtype=np.float32), np.zeros(n, dtype=np.float32)


@dataclass
class SearchResult:
    """What a search gives per tree (root side to move's point of view throughout)."""

    action: np.ndarray  # int64[B], -1 where the root is terminal
    policy: np.ndarray  # float32[B, A], improved policy (visit shares, or Gumbel's)
    value: np.ndarray  # float32[B], root mean value (Gumbel: the chosen move's Q)
    network_value: np.ndarray  # float32[B], the network's value of the root
    prior: np.ndarray  # float32[B, A], the network's policy at the root
    visits: np.ndarray  # int32[B, A]
    q: np.ndarray  # float32[B, A], NaN where unvisited
    simulations: np.ndarray  # int64[B], simulations done by this call


def params_vector(params: SearchParams) -> np.ndarray:
    vec = np.zeros(NUM_PARAMS, dtype=np.float64)
    vec[P_C_INIT] = params.c_init
    vec[P_C_BASE] = params.c_base
    vec[P_FPU_REDUCTION] = params.fpu_reduction
    vec[P_VIRTUAL_LOSS] = params.virtual_loss
    vec[P_C_VISIT] = params.gumbel_c_visit
    vec[P_C_SCALE] = params.gumbel_c_scale
    return vec


class BatchedMCTS:
    """Searches ``batch_size`` positions at once with one ``evaluate`` call per step.

    Args:
      game: a game from ``games`` (see games/base.py).
      evaluate: ``evaluate(obs float32[M, C, H, W], legal bool[M, A]) -> (logits[M, A],
        values[M])``, values from the side to move.
      params: the search parameters.
      batch_size: the number of trees B.
      seed: seeds noise and temperature sampling.
      learned: the learned search's weights (arm ``learned``); ``LearnedWeights.untrained()``
        behaves exactly as PUCT.
    """

    def __init__(self, game, evaluate: EvaluateFn, params: SearchParams, *, batch_size: int,
                 seed: int | None = None, learned: LearnedWeights | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, not {batch_size}")
        if game.num_actions > MAX_ACTIONS:
            raise ValueError(f"the search stores actions in int16: at most {MAX_ACTIONS}, "
                             f"not {game.num_actions}")
        if params.arm == "learned" and learned is None:
            raise ValueError("the learned search arm needs its weights (search.LearnedWeights)")
        self.game = game
        self.evaluate = evaluate
        self.params = params
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.rule = _RULES[params.arm]
        self.param_vec = params_vector(params)
        self.learned = learned if learned is not None else LearnedWeights.untrained()
        self.num_actions = game.num_actions
        caps = capabilities(game)
        self.array_game = caps.array_game  # node states in self.states, stepped in Numba
        self.packed = caps.packed_states and not self.array_game  # rows in self.states
        self._describe_one = game.describe if caps.describe else None
        nodes = params.simulations + params.leaves_per_step + 2
        width = min(game.num_actions, 64)
        self.tree = allocate_tree(batch_size, nodes, nodes * width)
        state_size = game.state_size if self.array_game else (
            game.packed_state_size if self.packed else 0)
        self.states = np.zeros((batch_size, nodes, state_size), dtype=np.int64)
        self.py_states: list[list[Any]] = [[] for _ in range(batch_size)]
        # Packed games: each root's history rows (``PackedGame.pack_state``).
        self.histories: list[Any] = [None] * batch_size
        self.root_states: list[Any] = [None] * batch_size
        # Root moves each tree may search (bool[A]), None: every legal move (see set_roots).
        self.root_allowed: list[np.ndarray | None] = [None] * batch_size
        self.noised = np.zeros(batch_size, dtype=bool)
        self.width = min(game.num_actions, 256)  # most children a node can have
        self.scratch = np.zeros(self.width, dtype=np.float64)
        self.extra = np.zeros(self.width, dtype=np.float64)
        self.features = np.zeros((self.width, NUM_SELECTION_FEATURES), dtype=np.float64)
        # Gumbel noise of each root child (Gumbel arm), by position among the root's edges.
        self.root_gumbel = np.zeros((batch_size, self.width), dtype=np.float32)
        # Simulations started through each root child in this search (Gumbel arm), finished
        # or in flight: what sequential halving schedules on (see gumbel_root_select).
        self.root_started = np.zeros((batch_size, self.width), dtype=np.int32)
        # Decisions recorded for training the learned rule (see run(control=...)).
        self.decisions = Decisions.allocate(batch_size, 1, self.width)
        self._no_noise = np.zeros((0, 0, 0), dtype=np.float64)
        self._edges_top = 0  # at least every tree's num_edges_used (see _evaluate_and_expand)

    # ----------------------------------------------------------------- roots
    def set_roots(self, states: Sequence[Any], indices: Sequence[int] | None = None, *,
                  allowed: np.ndarray | None = None) -> None:
        """Start fresh trees at ``states`` (for trees ``indices``, default 0..len-1).

        ``allowed`` (bool[len(states), A], optional) restricts each root to the legal moves
        it marks (UCI's ``go searchmoves``): the root gets edges for those moves only, so the
        network's priors are renormalised over them and Gumbel's noise and halving see only
        them. Below the root every legal move is searched. ``ValueError`` if a row allows no
        move, or (when the root is expanded) no legal one.
        """
        indices = range(len(states)) if indices is None else indices
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=bool)
            if allowed.shape != (len(states), self.num_actions):
                raise ValueError(f"allowed must be bool[{len(states)}, {self.num_actions}], "
                                 f"not {allowed.shape}")
            if not allowed.any(axis=1).all():
                raise ValueError("allowed root moves: every row must allow some move")
        for i, (b, state) in enumerate(zip(indices, states)):
            self.root_states[b] = state
            self.root_allowed[b] = None if allowed is None else allowed[i].copy()
            self._clear_tree(b)

    def _clear_tree(self, b: int) -> None:
        self.tree.num_nodes[b] = 0
        self.tree.num_edges_used[b] = 0
        self.noised[b] = False

    def advance(self, b: int, action: int, next_state: Any) -> None:
        """Move tree ``b``'s root along ``action`` to ``next_state``, keeping its subtree."""
        tree = self.tree
        child = -1
        if self.params.reuse_tree and self.rule != GUMBEL and tree.num_nodes[b] > 0:
            first, count = tree.first_edge[b, 0], tree.num_edges[b, 0]
            for e in range(first, first + count):
                if tree.edge_action[b, e] == action:
                    child = tree.edge_child[b, e]
        if child > 0 and tree.expanded[b, child] and not tree.terminal[b, child]:
            kept = reroot_kernel(b, child, self.states, *tree.arrays())
            if self.packed:  # the positions above the new root are the game's, no longer nodes
                self.states[b, 0], self.histories[b] = self.game.pack_state(next_state)
            elif not self.array_game:
                old = self.py_states[b]
                self.py_states[b] = [old[i] for i in kept]
            self.root_states[b] = next_state
            self.root_allowed[b] = None
            self.noised[b] = False
        else:
            self.set_roots([next_state], [b])

    def _describe(self, states: list[Any]):
        """Observations, legal masks, terminal flags and values of Python-held states."""
        game = self.game
        m = len(states)
        obs = np.zeros((m, *game.observation_shape), dtype=np.float32)
        legal = np.zeros((m, self.num_actions), dtype=bool)
        term = np.zeros(m, dtype=bool)
        tval = np.zeros(m, dtype=np.float32)
        describe = self._describe_one
        for i, s in enumerate(states):
            if describe is not None:  # one move generation for mask and terminal test
                obs[i], legal[i], term[i], tval[i] = describe(s)
            elif game.is_terminal(s):
                term[i] = True
                tval[i] = game.terminal_value(s)
            else:
                obs[i] = game.encode(s)
                legal[i] = game.legal_mask(s)
        return obs, legal, term, tval

    def _expand_roots(self, which: np.ndarray) -> None:
        tree = self.tree
        idx = np.flatnonzero(which)
        if idx.size == 0:
            return
        tree.num_nodes[idx] = 1
        tree.num_edges_used[idx] = 0
        for name in ("visits", "virtual", "num_edges", "first_edge", "depth"):
            getattr(tree, name)[idx, 0] = 0
        tree.value_sum[idx, 0] = 0.0
        tree.parent[idx, 0] = -1
        tree.parent_edge[idx, 0] = -1
        tree.expanded[idx, 0] = False
        tree.terminal[idx, 0] = False
        if self.array_game:
            roots = np.stack([np.asarray(self.root_states[b], dtype=np.int64) for b in idx])
            self.states[idx, 0] = roots
            m = idx.size
            obs = np.zeros((m, *self.game.observation_shape), dtype=np.float32)
            legal = np.zeros((m, self.num_actions), dtype=np.bool_)
            term = np.zeros(m, dtype=np.bool_)
            tval = np.zeros(m, dtype=np.float32)
            self.game.describe_batch(roots, obs, legal, term, tval)
        else:
            for b in idx:
                if self.packed:
                    self.states[b, 0], self.histories[b] = self.game.pack_state(
                        self.root_states[b])
                else:
                    self.py_states[b] = [self.root_states[b]]
            obs, legal, term, tval = self._describe([self.root_states[b] for b in idx])
        for i, b in enumerate(idx):
            mask = self.root_allowed[b]
            if mask is not None and not term[i]:
                if not (legal[i] & mask).any():
                    tree.num_nodes[idx] = 0  # the roots stay unexpanded
                    raise ValueError(f"tree {b}: none of the allowed root moves is legal")
                legal[i] &= mask
        self._evaluate_and_expand(idx.astype(np.int32), np.zeros(idx.size, np.int32), obs, legal,
                                  term, tval, remove_virtual=0)

    def _backup_w(self) -> np.ndarray:
        """The learned backup's weights when this search runs the learned rule, else empty."""
        return self.learned.backup if self.rule == LEARNED else _NO_BACKUP

    def _evaluate_and_expand(self, leaf_tree, leaf_node, obs, legal, term, tval, remove_virtual):
        m = leaf_tree.size
        if not term.any():
            logits, values = self.evaluate(obs, legal)
        else:
            logits = np.zeros((m, self.num_actions), dtype=np.float32)
            values = np.zeros(m, dtype=np.float32)
            live = ~term
            if live.any():
                logits[live], values[live] = self.evaluate(obs[live], legal[live])
        tree = self.tree
        # Room for every leaf's moves (a bound: at most k leaves of one tree per step).
        # ``_edges_top`` bounds every tree's used edges without a pass over them each step.
        widest = self.num_actions if self.array_game else int(legal.sum(axis=1).max())
        added = widest * min(m, self.params.leaves_per_step)
        if self._edges_top + added > tree.edge_capacity:
            self._edges_top = int(tree.num_edges_used.max())
            if self._edges_top + added > tree.edge_capacity:
                need = np.bincount(leaf_tree, weights=legal.sum(axis=1),
                                   minlength=self.batch_size)
                ensure_capacity(tree, 0, int((tree.num_edges_used + need).max()))
        top = expand_and_backup(leaf_tree, leaf_node, legal,
                                np.asarray(logits, dtype=np.float32),
                                np.asarray(values, dtype=np.float32), term, tval, tree.nodes,
                                tree.edges, tree.num_edges_used, remove_virtual,
                                self._backup_w())
        self._edges_top = max(self._edges_top, top)

    def _add_root_noise(self, trees: np.ndarray) -> None:
        tree = self.tree
        p = self.params
        for b in trees:
            first, count = tree.first_edge[b, 0], tree.num_edges[b, 0]
            if count == 0:
                continue
            edges = slice(first, first + count)
            if self.rule == GUMBEL:
                self.root_gumbel[b, :count] = self.rng.gumbel(size=count)
            elif not self.noised[b]:
                noise = self.rng.dirichlet(np.full(count, p.dirichlet_alpha))
                prior = tree.edge_prior[b, edges]
                tree.edge_prior[b, edges] = (1 - p.dirichlet_fraction) * prior + \
                    p.dirichlet_fraction * noise
            self.noised[b] = True

    # ---------------------------------------------------------------- search
    def run(self, *, simulations: int | None = None, add_noise: bool | np.ndarray = False,
            temperature: float = 0.0, active: np.ndarray | None = None,
            control: np.ndarray | None = None, sample_temperature: float = 0.0,
            sample_noise: np.ndarray | None = None) -> SearchResult:
        """Run ``simulations`` new simulations in each active tree and read out a move.

        ``add_noise``: Dirichlet noise at the root (PUCT) or Gumbel noise (Gumbel), for
        self-play; a bool[B] mask adds it to some trees only. ``temperature``: 0 picks the most
        visited move, otherwise moves are sampled in proportion to visits ** (1 / temperature)
        (PUCT and learned arms).

        Training the learned rule (arm ``learned``; records land in ``self.decisions``, see
        ``search.learned.Decisions`` and ``select_leaves``):
        ``control``: int64[B, 3] rows (simulation, depth, child) recording one decision per
        tree and forcing ``child`` there if it is >= 0 (a one-step deviation).
        ``sample_temperature`` > 0 with ``sample_noise`` (float64[B, D, W], W = ``self.width``,
        standard Gumbel noise): every decision is sampled from softmax((PUCT + residual) / tau)
        (noise ``[b, d]`` for tree b's d-th decision) and the first D of each tree recorded.
        """
        sims = self.params.simulations if simulations is None else simulations
        tree = self.tree
        active = np.ones(self.batch_size, bool) if active is None else np.asarray(active, bool)
        has_root = np.array([s is not None for s in self.root_states])
        active = active & has_root
        self._expand_roots(active & (tree.num_nodes == 0))
        root_live = active & ~tree.terminal[:, 0]
        if self.rule == GUMBEL:  # sequential halving starts afresh at every move
            for b in np.flatnonzero(root_live & (tree.num_nodes > 1)):
                self._clear_tree(b)
            self._expand_roots(root_live & (tree.num_nodes == 0))
            self.root_gumbel[root_live] = 0.0
            self.root_started[root_live] = 0  # the trees are fresh: no root child visited
        noised = root_live & np.broadcast_to(np.asarray(add_noise, dtype=bool), root_live.shape)
        if noised.any():
            self._add_root_noise(np.flatnonzero(noised))
        remaining = np.where(root_live, sims, 0).astype(np.int64)
        started = np.zeros(self.batch_size, dtype=np.int64)
        schedule = self._schedule(root_live, sims)
        if control is None:
            control = np.full((self.batch_size, 3), -1, dtype=np.int64)
        noise = self._sampling(sample_temperature, sample_noise)
        self.decisions.count[:] = 0
        self.budget = sims
        k = self.params.leaves_per_step
        max_leaves = self.batch_size * k
        out_tree = np.zeros(max_leaves, np.int32)
        out_parent = np.zeros(max_leaves, np.int32)
        out_action = np.zeros(max_leaves, np.int32)
        out_node = np.zeros(max_leaves, np.int32)
        out_collision = np.zeros(2 * max_leaves, np.int32)
        steps = leaves = collided = 0
        live = int(remaining.any())
        nodes_top = int(tree.num_nodes.max())  # bounds every tree's size; a step adds <= k
        while live:
            nodes_top += k
            if nodes_top + 1 > tree.node_capacity:
                nodes_top = int(tree.num_nodes.max()) + k
                if nodes_top + 1 > tree.node_capacity:
                    self._grow_nodes(nodes_top + 1)
            n, _, collisions, live = select_leaves(
                self.rule, self.param_vec, k, sims, remaining, schedule, started,
                self.learned.selection, self._backup_w(), control, float(sample_temperature),
                noise,
                *self.decisions.arrays(), self.scratch, self.extra, self.features,
                self.root_gumbel, self.root_started,
                *tree.arrays(), out_tree, out_parent, out_action, out_node, out_collision)
            if n > 0:
                self._step_leaves(out_tree[:n], out_parent[:n], out_action[:n], out_node[:n])
            if collisions > 0:
                clear_collisions(out_collision, collisions, tree.nodes, tree.edges)
            steps += 1
            leaves += n
            collided += collisions
        self.stats = {"steps": steps, "leaves": leaves, "collisions": collided}
        return self._readout(active, root_live, started, temperature)

    def _sampling(self, temperature: float, noise: np.ndarray | None) -> np.ndarray:
        """Check the sampling arguments of ``run``; size ``self.decisions`` for them."""
        max_decisions = 1
        if temperature > 0:
            if self.rule != LEARNED:
                raise ValueError("sampled decisions need the learned arm")
            if noise is None or noise.ndim != 3 or noise.shape[0] != self.batch_size \
                    or noise.shape[2] != self.width:
                raise ValueError(f"sample_noise must be float64[{self.batch_size}, D, "
                                 f"{self.width}], not {getattr(noise, 'shape', None)}")
            max_decisions = noise.shape[1]
            noise = np.ascontiguousarray(noise, dtype=np.float64)
        elif temperature < 0:
            raise ValueError(f"sample_temperature must be >= 0, not {temperature}")
        else:
            noise = self._no_noise
        if self.decisions.max_decisions != max_decisions:
            self.decisions = Decisions.allocate(self.batch_size, max_decisions, self.width)
        return noise

    def _grow_nodes(self, needed: int) -> None:
        ensure_capacity(self.tree, needed, 0)
        self.states = grown(self.states, self.tree.node_capacity)

    def _step_leaves(self, leaf_tree, leaf_parent, leaf_action, leaf_node) -> None:
        m = leaf_tree.size
        if self.array_game:
            obs, legal, term, tval = self._leaf_buffers()
            obs, legal, term, tval = obs[:m], legal[:m], term[:m], tval[:m]
            self.game.step_leaves(self.states, leaf_tree, leaf_parent, leaf_action, leaf_node,
                                  obs, legal, term, tval)
        elif self.packed:
            obs = np.zeros((m, *self.game.observation_shape), dtype=np.float32)
            legal = np.zeros((m, self.num_actions), dtype=bool)
            term = np.zeros(m, dtype=bool)
            tval = np.zeros(m, dtype=np.float32)
            step, parents = self.game.step_packed, self.tree.parent
            for i, (b, p, a, node) in enumerate(zip(leaf_tree.tolist(), leaf_parent.tolist(),
                                                    leaf_action.tolist(), leaf_node.tolist())):
                term[i], tval[i] = step(self.states[b], parents[b], self.histories[b], p, a,
                                        node, obs[i], legal[i])
        else:
            children = []
            for b, p, a, node in zip(leaf_tree, leaf_parent, leaf_action, leaf_node):
                child = self.game.apply(self.py_states[b][p], int(a))
                states = self.py_states[b]
                if len(states) <= node:
                    states.extend([None] * (node + 1 - len(states)))
                states[node] = child
                children.append(child)
            obs, legal, term, tval = self._describe(children)
        self._evaluate_and_expand(leaf_tree, leaf_node, obs, legal, term, tval, remove_virtual=1)

    def _leaf_buffers(self):
        """Reused observation / legal / terminal / value buffers for B * k leaves."""
        size = self.batch_size * self.params.leaves_per_step
        if getattr(self, "_buffers", None) is None or self._buffers[0].shape[0] < size:
            self._buffers = (
                np.zeros((size, *self.game.observation_shape), dtype=np.float32),
                np.zeros((size, self.num_actions), dtype=np.bool_),
                np.zeros(size, dtype=np.bool_),
                np.zeros(size, dtype=np.float32),
            )
        return self._buffers

    def _schedule(self, root_live: np.ndarray, sims: int) -> np.ndarray:
        if self.rule != GUMBEL:
            return np.zeros((self.batch_size, max(sims, 1)), dtype=np.int32)
        schedule = np.zeros((self.batch_size, max(sims, 1)), dtype=np.int32)
        for b in np.flatnonzero(root_live):
            m = min(self.params.gumbel_considered, int(self.tree.num_edges[b, 0]))
            schedule[b] = considered_visit_sequence(m, sims)
        return schedule

    def _readout(self, active, root_live, started, temperature) -> SearchResult:
        tree = self.tree
        B, A = self.batch_size, self.num_actions
        visits = np.zeros((B, A), dtype=np.int32)
        q = np.zeros((B, A), dtype=np.float32)
        root_statistics(A, tree.nodes, tree.edges, visits, q)
        prior = np.zeros((B, A), dtype=np.float32)
        for b in np.flatnonzero(root_live):
            first, count = tree.first_edge[b, 0], tree.num_edges[b, 0]
            logit = tree.edge_logit[b, first:first + count].astype(np.float64)
            p = np.exp(logit - logit.max())
            prior[b, tree.edge_action[b, first:first + count]] = p / p.sum()
        value = np.where(active, -tree.value_sum[:, 0] / np.maximum(tree.visits[:, 0], 1), 0.0)
        action = np.full(B, -1, dtype=np.int64)
        if self.rule == GUMBEL:
            policy = np.zeros((B, A), dtype=np.float32)
            gumbel_action = np.zeros(B, dtype=np.int64)
            gumbel_readout(self.param_vec, tree.nodes, tree.edges, self.root_gumbel, policy,
                           gumbel_action)
            action[root_live] = gumbel_action[root_live]
            # Sequential halving spends visits on moves it then rejects, so the root's mean
            # understates a won position: report the chosen move's value instead.
            for b in np.flatnonzero(root_live):
                if visits[b, action[b]] > 0:
                    value[b] = q[b, action[b]]
        else:
            totals = visits.sum(axis=1, keepdims=True)
            policy = np.where(totals > 0, visits / np.maximum(totals, 1), prior).astype(np.float32)
            for b in np.flatnonzero(root_live):
                if self.rule == LEARNED and self.learned.readout.size:
                    action[b] = learned_choice(self.learned.readout, visits[b], prior[b], q[b],
                                               value[b], self.budget, temperature, self.rng)
                else:
                    action[b] = choose_by_visits(visits[b], prior[b], temperature, self.rng)
        policy[~root_live] = 0.0
        return SearchResult(action=action, policy=policy, value=value.astype(np.float32),
                            network_value=np.where(active, tree.raw_value[:, 0], 0.0)
                            .astype(np.float32), prior=prior, visits=visits, q=q,
                            simulations=started)

    def view(self, b: int) -> TreeView:
        """A read-only view of tree ``b`` for tools (``search.tree.TreeView``: stable names)."""
        return tree_view(self.tree, b)

    def principal_variation(self, b: int, first_action: int | None = None,
                            max_length: int = 12) -> list[int]:
        """Tree ``b``'s principal variation (``TreeView.principal_variation``)."""
        return self.view(b).principal_variation(first_action, max_length)
