"""Training positions for the learned search without a solver: the network's own play.

``own_play_positions`` plays games with moves sampled from the network's policy (a few
uniformly random plies first, for variety) and keeps the position each game reaches at a
random length. The positions are the ones the network's search meets in play, unlike
uniformly random playouts, which in chess are full of hanging pieces no game would leave.
The search teacher then labels them (``alphazero.learned.training.teacher_costs``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from search import EvaluateFn


def state_key(game: Any, state: Any) -> str:
    """A text key equal for equal positions: ``game.format_position`` where the game has it,
    else the state's array contents."""
    if hasattr(game, "format_position"):
        return game.format_position(state)
    return np.asarray(state).tobytes().hex()


def own_play_positions(game: Any, evaluate: EvaluateFn, count: int, *, seed: int,
                       random_plies: tuple[int, int] = (0, 4), plies: tuple[int, int] = (8, 80),
                       temperature: float = 1.0,
                       exclude: Callable[[Any], bool] | None = None,
                       max_rounds: int = 20) -> list:
    """``count`` distinct non-terminal positions from the network's own play.

    Each game takes ``U{random_plies}`` uniformly random plies, then moves sampled from
    ``softmax(logits / temperature)`` over the legal moves, and stops after ``U{plies}``
    plies in all; its last non-terminal position is kept unless ``exclude(state)`` or it
    repeats an earlier one (by ``state_key``). Games run ``count`` at a time, one
    network call per ply. Raises ``ValueError`` if ``max_rounds`` rounds find too few.
    """
    if count < 1 or temperature <= 0:
        raise ValueError("own_play_positions needs count >= 1 and temperature > 0")
    if not 0 <= random_plies[0] <= random_plies[1] or not 1 <= plies[0] <= plies[1]:
        raise ValueError(f"bad ply ranges: random_plies {random_plies}, plies {plies}")
    rng = np.random.default_rng([seed, 11])
    found: dict[str, Any] = {}
    for _ in range(max_rounds):
        for state in _play_round(game, evaluate, count, rng, random_plies, plies, temperature):
            key = state_key(game, state)
            if key not in found and not (exclude is not None and exclude(state)):
                found[key] = state
            if len(found) == count:
                return list(found.values())
    raise ValueError(f"own play found {len(found)} distinct positions, not {count}")


def _play_round(game, evaluate, count: int, rng: np.random.Generator,
                random_plies: Sequence[int], plies: Sequence[int],
                temperature: float) -> list:
    states = [game.initial_state() for _ in range(count)]
    length = rng.integers(plies[0], plies[1] + 1, size=count)
    randoms = np.minimum(rng.integers(random_plies[0], random_plies[1] + 1, size=count), length)
    for ply in range(int(length.max())):
        live = [i for i in range(count) if ply < length[i] and not game.is_terminal(states[i])]
        if not live:
            break
        masks = np.stack([game.legal_mask(states[i]) for i in live])  # bool[L, A]
        obs = np.stack([game.encode(states[i]) for i in live]).astype(np.float32)
        logits = np.asarray(evaluate(obs, masks)[0], dtype=np.float64)  # [L, A]
        logits = np.where(masks, logits / temperature, -np.inf)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = np.where(ply < randoms[live][:, None], masks.astype(np.float64), probs)
        probs /= probs.sum(axis=1, keepdims=True)
        for row, i in enumerate(live):
            action = int(rng.choice(game.num_actions, p=probs[row]))
            after = game.apply(states[i], action)
            if game.is_terminal(after):
                length[i] = ply  # keep the last position before the end
            else:
                states[i] = after
    return [s for s in states if not game.is_terminal(s)]
