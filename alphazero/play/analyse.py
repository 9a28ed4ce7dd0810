"""Analyse many positions at once through the batched search, one JSON-ready dict each."""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Iterator

import numpy as np

from games.base import Game, GameError, capabilities
from search import EvaluateFn, SearchParams
from search.learned import LearnedWeights
from search.states import search_states

PV_LENGTH = 12
"""Moves of each position's principal variation in the output."""


def parse_lines(game: Game, lines: Iterable[str]) -> Iterator[tuple[str, Any, str | None]]:
    """(position text, state or None, error or None) for each input line.

    An empty line is the starting position (no moves played), unless the game declares
    ``empty_position_allowed = False`` (chess: a FEN or 'startpos' is needed).
    """
    caps = capabilities(game)
    for raw in lines:
        text = raw.rstrip("\r\n").strip()
        undecoded = getattr(raw, "error", None)  # a line that was not text (cli.open_input)
        if undecoded is not None:
            yield text, None, undecoded
            continue
        try:
            if not text and not caps.empty_position_allowed:
                raise GameError(f"empty line: give {caps.position_notation}")
            state = game.parse_position(text)
            if game.is_terminal(state):
                raise GameError("the game is over in this position: there is no move to analyse")
        except GameError as err:
            yield text, None, str(err)
            continue
        yield text, state, None


def leaves_per_step_for(num_positions: int, configured: int, target_batch: int = 32) -> int:
    """Few positions: let each tree contribute several leaves (virtual loss) to fill a batch."""
    if num_positions >= target_batch:
        return configured
    return max(configured, min(16, target_batch // max(num_positions, 1)))


def analyse_states(game: Game, states: list[Any], evaluate: EvaluateFn, params: SearchParams,
                   *, seed: int = 0, learned: LearnedWeights | None = None
                   ) -> list[dict[str, Any]]:
    """Search all ``states`` together (one tree each) and describe the results."""
    if not states:
        return []
    k = leaves_per_step_for(len(states), params.leaves_per_step)
    params = dataclasses.replace(params, leaves_per_step=k)
    result = search_states(game, evaluate, params, states, seed=seed, learned=learned,
                           pv_length=PV_LENGTH)
    out = []
    for b, state in enumerate(states):
        legal = np.flatnonzero(game.legal_mask(state))
        policy = {game.format_move(state, int(a)): round(float(result.policy[b, a]), 4)
                  for a in legal}
        visits = {game.format_move(state, int(a)): int(result.visits[b, a]) for a in legal
                  if result.visits[b, a] > 0}
        pv = [int(a) for a in result.principal_variations[b]]
        out.append({
            "move": game.format_move(state, int(result.action[b])),
            "value": round(float(result.value[b]), 4),
            "policy": policy,
            "visits": visits,
            "pv": _format_line(game, state, pv),
        })
    return out


def _format_line(game: Game, state: Any, actions: list[int]) -> list[str]:
    moves = []
    for a in actions:
        moves.append(game.format_move(state, a))
        state = game.apply(state, a)
    return moves


def analyse_lines(game: Game, lines: Iterable[str], evaluate: EvaluateFn, params: SearchParams,
                  *, chunk_size: int = 256, learned: LearnedWeights | None = None
                  ) -> Iterator[dict[str, Any]]:
    """Parse, batch and search positions; yield one dict per line, in input order."""
    pending: list[tuple[str, Any, str | None]] = []

    def flush() -> Iterator[dict[str, Any]]:
        good = [state for _, state, err in pending if err is None]
        results = iter(analyse_states(game, good, evaluate, params, learned=learned))
        for text, _, err in pending:
            if err is not None:
                yield {"position": text, "error": err}
            else:
                yield {"position": text, **next(results)}
        pending.clear()

    for item in parse_lines(game, lines):
        pending.append(item)
        if len(pending) >= chunk_size:
            yield from flush()
    yield from flush()
