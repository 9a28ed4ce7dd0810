"""The replay buffer: a bounded numpy ring buffer of training positions, saved atomically.

Each position holds an observation, the search's improved policy, the game's outcome from the
side to move and the legal moves. Storage is compact so that chess fits in memory:

    observations  float16[N, C, H, W]   (the games' planes are 0/1 or small fractions)
    policy_index  int32[N, K]           the K largest policy entries (K = min(A, 256)) ...
    policy_prob   float32[N, K]         ... and their probabilities (dense for small games)
    legal_bits    uint8[N, ceil(A/8)]   legal masks, np.packbits
    values        float32[N]            outcome for the side to move, in [-1, 1]

Sampling draws positions uniformly and applies a random symmetry of the game to each one.
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from nets.files import atomic_write

MAX_POLICY_ENTRIES = 256
"""Policy entries stored per position; chess has at most 218 legal moves."""

_FIELDS = ("observations", "policy_index", "policy_prob", "legal_bits", "values")


class Symmetries:
    """A game's symmetries as index permutations, so a whole batch is transformed at once.

    ``game.symmetries(obs, policy)`` is called once on index-valued arrays to read off, for each
    symmetry k, ``obs_perm[k]`` (int64[C*H*W]) and ``action_perm[k]`` (int64[A]) with
    ``new_obs.flat = obs.flat[obs_perm[k]]`` and ``new_policy = policy[action_perm[k]]``.
    """

    def __init__(self, game: Any):
        shape = tuple(game.observation_shape)
        cells = int(np.prod(shape))
        obs_ids = np.arange(cells, dtype=np.float64).reshape(shape)
        action_ids = np.arange(game.num_actions, dtype=np.float64)
        obs_perms, action_perms = [], []
        for obs, policy in game.symmetries(obs_ids, action_ids):
            obs_perm = np.asarray(obs).reshape(-1).astype(np.int64)
            action_perm = np.asarray(policy).astype(np.int64)
            if not (
                np.array_equal(np.sort(obs_perm), np.arange(cells))
                and np.array_equal(np.sort(action_perm), np.arange(game.num_actions))
            ):
                raise ValueError(
                    f"{game.name}'s symmetries are not permutations of the planes "
                    "and actions; the replay buffer cannot vectorise them"
                )
            obs_perms.append(obs_perm)
            action_perms.append(action_perm)
        self.obs_perm = np.stack(obs_perms)  # [S, C*H*W]
        self.action_perm = np.stack(action_perms)  # [S, A]

    def __len__(self) -> int:
        return len(self.obs_perm)

    def apply(
        self, observations: np.ndarray, policies: np.ndarray, legal: np.ndarray, which: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Transform row i by symmetry ``which[i]``; arrays [n, C, H, W], [n, A], [n, A]."""
        n = observations.shape[0]
        flat = observations.reshape(n, -1)  # [n, C*H*W]
        rows = np.arange(n)[:, None]
        obs = flat[rows, self.obs_perm[which]].reshape(observations.shape)
        perm = self.action_perm[which]  # [n, A]
        return obs, policies[rows, perm], legal[rows, perm]


class ReplayBuffer:
    """Bounded FIFO of positions: once full, each new position replaces the oldest."""

    def __init__(self, capacity: int, observation_shape: tuple[int, int, int], num_actions: int):
        if capacity < 1:
            raise ValueError(f"replay capacity must be >= 1, not {capacity}")
        self.capacity = int(capacity)
        self.observation_shape = tuple(int(d) for d in observation_shape)
        self.num_actions = int(num_actions)
        self.policy_width = min(self.num_actions, MAX_POLICY_ENTRIES)
        self.observations = np.zeros((capacity, *self.observation_shape), dtype=np.float16)
        self.policy_index = np.zeros((capacity, self.policy_width), dtype=np.int32)
        self.policy_prob = np.zeros((capacity, self.policy_width), dtype=np.float32)
        self.legal_bits = np.zeros((capacity, (self.num_actions + 7) // 8), dtype=np.uint8)
        self.values = np.zeros(capacity, dtype=np.float32)
        self.size = 0  # positions held
        self.cursor = 0  # next row to write
        self.total_added = 0  # positions ever added (including evicted ones)

    def __len__(self) -> int:
        return self.size

    # ------------------------------------------------------------------ add
    def add(
        self,
        observations: np.ndarray,
        policies: np.ndarray,
        values: np.ndarray,
        legal_masks: np.ndarray,
    ) -> None:
        """Append T positions: float32[T, C, H, W], float32[T, A], float32[T], bool[T, A]."""
        t = int(observations.shape[0])
        if observations.shape[1:] != self.observation_shape:
            raise ValueError(
                f"observations must be [T, {self.observation_shape}], got {observations.shape}"
            )
        if policies.shape != (t, self.num_actions) or legal_masks.shape != (t, self.num_actions):
            raise ValueError(
                f"policies and legal masks must be [{t}, {self.num_actions}], got "
                f"{policies.shape} and {legal_masks.shape}"
            )
        if values.shape != (t,):
            raise ValueError(f"values must be [{t}], got {values.shape}")
        if t == 0:
            return
        if t > self.capacity:  # only the newest positions can stay
            drop = t - self.capacity
            self.total_added += drop
            observations, policies = observations[drop:], policies[drop:]
            values, legal_masks = values[drop:], legal_masks[drop:]
            t = self.capacity
        index, prob = _sparse_policy(np.asarray(policies, dtype=np.float32), self.policy_width)
        rows = (self.cursor + np.arange(t)) % self.capacity
        self.observations[rows] = observations
        self.policy_index[rows] = index
        self.policy_prob[rows] = prob
        self.legal_bits[rows] = np.packbits(np.asarray(legal_masks, dtype=bool), axis=1)
        self.values[rows] = values
        self.cursor = int((self.cursor + t) % self.capacity)
        self.size = min(self.size + t, self.capacity)
        self.total_added += t

    # --------------------------------------------------------------- sample
    def sample(
        self, batch_size: int, rng: np.random.Generator, symmetries: Symmetries | None = None
    ):
        """A uniform mini-batch, each position under a random symmetry when given.

        Returns (observations float32[n, C, H, W], policies float32[n, A], values float32[n],
        legal bool[n, A]).
        """
        if self.size == 0:
            raise ValueError("cannot sample an empty replay buffer")
        rows = rng.integers(0, self.size, size=batch_size)
        obs, policy, values, legal = self.rows(rows)
        if symmetries is not None and len(symmetries) > 1:
            which = rng.integers(0, len(symmetries), size=batch_size)
            obs, policy, legal = symmetries.apply(obs, policy, legal, which)
        return obs, policy, values, legal

    def rows(self, rows: np.ndarray):
        """Dense (observations, policies, values, legal masks) of the given storage rows."""
        n = len(rows)
        policy = np.zeros((n, self.num_actions), dtype=np.float32)
        np.put_along_axis(policy, self.policy_index[rows], self.policy_prob[rows], axis=1)
        legal = np.unpackbits(self.legal_bits[rows], axis=1, count=self.num_actions).astype(bool)
        return (self.observations[rows].astype(np.float32), policy, self.values[rows].copy(), legal)

    def contents(self):
        """All held positions, oldest first, as dense arrays (for tests and inspection)."""
        start = self.cursor if self.size == self.capacity else 0
        return self.rows((start + np.arange(self.size)) % self.capacity)

    # ------------------------------------------------------------ save/load
    def save(self, path: str | os.PathLike) -> None:
        """Write the buffer to ``path`` (.npz) atomically: write a temporary file, fsync, rename."""
        meta = np.array(
            [
                self.capacity,
                self.size,
                self.cursor,
                self.total_added,
                self.num_actions,
                *self.observation_shape,
            ],
            dtype=np.int64,
        )
        arrays = {name: getattr(self, name)[: self.size] for name in _FIELDS}
        atomic_write(path, lambda f: np.savez(f, meta=meta, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike, capacity: int | None = None) -> ReplayBuffer:
        """Read a buffer written by ``save``; raise ValueError if the file is bad.

        ``capacity`` may differ from the saved one: a smaller one keeps the newest positions.
        """
        try:
            with np.load(path) as data:
                meta = data["meta"]
                arrays = {name: data[name] for name in _FIELDS}
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(f"replay buffer {path} is unreadable: {err}") from err
        saved_capacity, size, cursor, total_added, num_actions = (int(v) for v in meta[:5])
        shape = tuple(int(v) for v in meta[5:])
        buffer = cls(capacity or saved_capacity, shape, num_actions)
        if any(len(a) != size for a in arrays.values()):
            raise ValueError(f"replay buffer {path} is inconsistent (sizes differ)")
        # Stored rows in age order, oldest first.
        start = cursor if size == saved_capacity else 0
        order = (start + np.arange(size)) % max(size, 1)
        keep = order[-buffer.capacity :] if size > buffer.capacity else order
        n = len(keep)
        for name in _FIELDS:
            getattr(buffer, name)[:n] = arrays[name][keep]
        buffer.size = n
        buffer.cursor = n % buffer.capacity
        buffer.total_added = total_added
        return buffer


def _sparse_policy(policies: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``width`` largest entries of each row, renormalised: (int32[T, K], float32[T, K])."""
    num_actions = policies.shape[1]
    if width == num_actions:
        index = np.broadcast_to(np.arange(num_actions, dtype=np.int32), policies.shape)
        return index, policies
    index = np.argpartition(-policies, width - 1, axis=1)[:, :width].astype(np.int32)
    prob = np.take_along_axis(policies, index, axis=1)
    total = prob.sum(axis=1, keepdims=True)
    return index, np.where(total > 0, prob / np.maximum(total, 1e-12), 0.0).astype(np.float32)
