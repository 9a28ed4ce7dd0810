"""Players for matches and the evaluation ladder, behind one small protocol.

An agent chooses one move for each of a *batch* of positions, one per concurrent game, so a
network agent searches them all in one ``BatchedMCTS`` (one network call per simulation step
for every game at once). That is what makes a match of dozens of games fast.

Agents: ``SearchAgent`` (a network with PUCT or Gumbel search, or its policy alone at 0
simulations), ``RandomAgent``, ``RolloutAgent`` (alphazero/rollout.py: MCTS with uniform
priors whose leaf value is one random playout to the end), ``SolverAgent`` (perfect play at
tic-tac-toe and Connect Four) and, through a hook, ``alphazero.eval.stockfish.StockfishAgent``.
``parse_agent_spec`` builds any of them from text such as ``rollout:200`` or
``runs/c4/step_2000.pt:400:gumbel``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from alphazero.eval.rollout import RolloutAgent
from games import get_game, is_array_game
from games import tictactoe as ttt
from games.base import Game
from search import BatchedMCTS, EvaluateFn, SearchParams

SPEC_FORMS = "random, rollout:N, solver, stockfish:LEVEL, net[:SIMS[:ARM]], PATH.pt[:SIMS[:ARM]]"
SPEC_ARMS = ("puct", "gumbel")


@runtime_checkable
class Agent(Protocol):
    """A player: ``select_moves`` gets the positions of concurrent games, one action each."""

    name: str

    def reset(self) -> None:
        """Forget anything kept between moves (called before each match)."""
        ...

    def select_moves(self, states: list) -> list[int]:
        """One legal action for each (non-terminal) state, in order."""
        ...


def _as_game(game: Game | str) -> Game:
    return get_game(game) if isinstance(game, str) else game


# ---------------------------------------------------------------------------- random
class RandomAgent:
    """Uniformly random legal moves."""

    def __init__(self, game: Game | str, *, seed: int = 0, name: str = "random") -> None:
        self.game = _as_game(game)
        self.name = name
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        self._rng = np.random.default_rng(self._seed)

    def select_moves(self, states: list) -> list[int]:
        return [int(self._rng.choice(np.flatnonzero(self.game.legal_mask(s)))) for s in states]


# ------------------------------------------------------------------ network + search
DEFAULT_CACHE_SIZE = 100_000
"""Evaluations a SearchAgent remembers (array games): a quarter of a ladder's are repeats."""


def cached_evaluate(evaluate: EvaluateFn, capacity: int) -> EvaluateFn:
    """``evaluate`` that remembers up to ``capacity`` positions (then starts afresh).

    Positions are keyed by a 128-bit hash of the observation and legal mask. Searches from
    the same openings, and transpositions inside a tree, repeat many positions; a lookup
    costs microseconds, a network evaluation a third of a millisecond on a CPU core.
    """
    cache: dict[bytes, tuple[np.ndarray, float]] = {}

    def evaluate_with_cache(observations: np.ndarray, legal_masks: np.ndarray):
        n = observations.shape[0]
        keys = [hashlib.blake2b(observations[i].tobytes() + legal_masks[i].tobytes(),
                                digest_size=16).digest() for i in range(n)]
        logits = np.zeros(legal_masks.shape, dtype=np.float32)
        values = np.zeros(n, dtype=np.float32)
        missing = []
        for i, key in enumerate(keys):
            hit = cache.get(key)
            if hit is None:
                missing.append(i)
            else:
                logits[i], values[i] = hit
        if missing:
            new_logits, new_values = evaluate(observations[missing], legal_masks[missing])
            logits[missing], values[missing] = new_logits, new_values
            if len(cache) + len(missing) > capacity:
                cache.clear()
            for i in missing:
                cache[keys[i]] = (logits[i].copy(), float(values[i]))
        return logits, values

    return evaluate_with_cache


class SearchAgent:
    """A network searched by ``BatchedMCTS`` (``params.simulations == 0``: its policy alone).

    Each call searches all the given positions together from fresh roots and plays the most
    visited move (Gumbel: the arm's own choice), without noise. ``cache_size`` evaluations
    are remembered (default ``DEFAULT_CACHE_SIZE`` for the array games, none for chess).
    """

    def __init__(self, game: Game | str, evaluate: EvaluateFn, params: SearchParams, *,
                 name: str = "net", seed: int = 0, cache_size: int | None = None) -> None:
        self.game = _as_game(game)
        self.evaluate = evaluate  # the plain evaluator, without the cache
        self.params = params
        self.name = name
        self._seed = seed
        if cache_size is None:
            cache_size = DEFAULT_CACHE_SIZE if is_array_game(self.game) else 0
        self._search_evaluate = cached_evaluate(evaluate, cache_size) if cache_size else evaluate
        self._mcts: BatchedMCTS | None = None

    @classmethod
    def from_model(cls, game: Game | str, model: Any, params: SearchParams, *,
                   name: str = "net", seed: int = 0, num_threads: int | None = 1,
                   device: Any = None) -> SearchAgent:
        """From a ``PolicyValueNet`` (its weights are frozen into the evaluator now)."""
        from nets.torch_net import make_evaluate_fn

        evaluate = make_evaluate_fn(model, device, num_threads=num_threads)
        return cls(game, evaluate, params, name=name, seed=seed)

    @classmethod
    def from_checkpoint(cls, game: Game | str, path: str | Path, params: SearchParams, *,
                        name: str | None = None, seed: int = 0,
                        num_threads: int | None = 1) -> SearchAgent:
        """Load ``path`` (CheckpointError if missing, corrupt or for another game)."""
        from nets.loader import resolve_evaluate

        game = _as_game(game)
        evaluate, _ = resolve_evaluate(game, None, path, backend="torch",
                                       num_threads=num_threads)
        return cls(game, evaluate, params, name=name or str(path), seed=seed)

    def reset(self) -> None:
        self._mcts = None

    def select_moves(self, states: list) -> list[int]:
        if not states:
            return []
        n = len(states)
        if self._mcts is None or self._mcts.batch_size < n:
            self._mcts = BatchedMCTS(self.game, self._search_evaluate, self.params,
                                     batch_size=n, seed=self._seed)
        self._mcts.set_roots(states)
        active = np.arange(self._mcts.batch_size) < n
        result = self._mcts.run(simulations=self.params.simulations, active=active)
        return [int(a) for a in result.action[:n]]


# --------------------------------------------------------------------------- solver
class SolverAgent:
    """Perfect play: a random choice among the moves with the best exact score.

    Connect Four uses ``Connect4Solver`` (Pons scores, so a faster win is better); it is fast
    from about 12 stones on but takes seconds to minutes a move in the opening, so start its
    matches from longer openings. Tic-tac-toe uses ``perfect_values`` (win 1, draw 0, loss -1).
    """

    def __init__(self, game: Game | str, *, seed: int = 0, name: str = "solver",
                 solver: Any = None) -> None:
        self.game = _as_game(game)
        if self.game.name not in ("connect4", "tictactoe"):
            raise ValueError(f"there is no solver for {self.game.name}: the solver agent plays "
                             "connect4 and tictactoe")
        self.name = name
        self._seed = seed
        self._solver = solver
        self._memo: dict = {}
        self.reset()

    def reset(self) -> None:
        self._rng = np.random.default_rng(self._seed)

    def move_scores(self, state: Any) -> dict[int, float]:
        """Exact score of each legal action for the side to move."""
        if self.game.name == "connect4":
            if self._solver is None:
                from games.connect4_solver import Connect4Solver

                self._solver = Connect4Solver()
            position = (int(state[0]), int(state[1]), int(state[2]))
            scores = self._solver.analyse(position)
            return {col - 1: float(s) for col, s in scores.items() if s is not None}
        return {int(a): -ttt.perfect_values(self.game.apply(state, int(a)), self._memo)
                for a in np.flatnonzero(self.game.legal_mask(state))}

    def select_moves(self, states: list) -> list[int]:
        moves = []
        for state in states:
            scores = self.move_scores(state)
            best = max(scores.values())
            moves.append(int(self._rng.choice([a for a, s in scores.items() if s == best])))
        return moves


# ---------------------------------------------------------------------------- specs
def _bad(spec: str, reason: str) -> ValueError:
    return ValueError(f"bad agent spec {spec!r}: {reason} (expected {SPEC_FORMS})")


def _positive_int(spec: str, text: str, what: str, *, allow_zero: bool = False) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _bad(spec, f"{what} must be an integer, not {text!r}") from None
    if value < (0 if allow_zero else 1):
        raise _bad(spec, f"{what} must be {'>= 0' if allow_zero else '>= 1'}, not {value}")
    return value


def _search_suffix(spec: str, args: list[str]) -> tuple[int | None, str | None]:
    """``[]``, ``[SIMS]`` or ``[SIMS, ARM]`` -> (simulations or None, arm or None)."""
    if len(args) > 2:
        raise _bad(spec, "too many ':' fields")
    sims = _positive_int(spec, args[0], "the simulation count", allow_zero=True) if args else None
    arm = args[1].lower() if len(args) == 2 else None
    if arm is not None and arm not in SPEC_ARMS:
        raise _bad(spec, f"the search arm must be {' or '.join(SPEC_ARMS)}, not {args[1]!r}")
    return sims, arm


def _peel_search_suffix(parts: list[str]) -> tuple[str, list[str]]:
    """Split ``PATH[:SIMS[:ARM]]`` (the path may itself hold ':') into path and fields."""
    def number(text: str) -> bool:
        return text.lstrip("-").isdigit()

    if len(parts) >= 3 and number(parts[-2]) and not number(parts[-1]):
        return ":".join(parts[:-2]), parts[-2:]
    if len(parts) >= 2 and number(parts[-1]):
        return ":".join(parts[:-1]), parts[-1:]
    return ":".join(parts), []


def parse_agent_spec(game: Game | str, spec: str, *, default_sims: int | None = None,
                     seed: int = 0, search: SearchParams | None = None,
                     network: Any = None) -> Agent:
    """Build an agent from text; raises ValueError with the accepted forms on a bad spec.

    ``random`` · ``rollout:N`` (N simulations with random playouts) · ``solver`` ·
    ``stockfish:LEVEL`` (chess; needs ``alphazero.eval.stockfish``) · ``net`` / ``net:SIMS`` /
    ``net:SIMS:ARM`` (the shipped checkpoint, else a fresh network) · ``PATH`` /
    ``PATH:SIMS`` / ``PATH:SIMS:ARM`` (a checkpoint file; ARM is puct or gumbel).
    ``search`` and ``network`` default to the game's config (``alphazero/configs/GAME.yaml``);
    ``default_sims`` (default: the config's) applies when the spec gives no SIMS.
    """
    game = _as_game(game)
    spec = spec.strip()
    if not spec:
        raise _bad(spec, "it is empty")
    parts = spec.split(":")
    head, args = parts[0].lower(), parts[1:]
    if head in ("random", "solver"):
        if args:
            raise _bad(spec, f"{head} takes no ':' arguments")
        return RandomAgent(game, seed=seed) if head == "random" else SolverAgent(game, seed=seed)
    if head == "rollout":
        if len(args) != 1:
            raise _bad(spec, "give the simulations per move, e.g. rollout:200")
        return RolloutAgent(game, _positive_int(spec, args[0], "the rollout budget"), seed=seed,
                            name=spec)
    if head == "stockfish":
        if len(args) != 1:
            raise _bad(spec, "give a level, e.g. stockfish:3")
        return _stockfish_agent(game, spec, _positive_int(spec, args[0], "the level",
                                                          allow_zero=True))
    if head == "net":
        target = "net"
    else:
        target, args = _peel_search_suffix(parts)
    sims, arm = _search_suffix(spec, args)
    if target != "net" and not Path(target).is_file():
        raise _bad(spec, f"no checkpoint file {target!r}")
    if search is None or network is None:
        from alphazero.config import load_config

        config = load_config(game.name)
        search = search or config.search
        network = network or config.network
    if sims is None:
        sims = default_sims if default_sims is not None else search.simulations
    if arm is None:
        arm = search.arm if search.arm in SPEC_ARMS else "puct"
    params = dataclasses.replace(search, simulations=sims, arm=arm)
    if target == "net":
        from nets.loader import resolve_model

        model, _ = resolve_model(game, network, seed=seed)
        return SearchAgent.from_model(game, model, params, name=spec, seed=seed)
    return SearchAgent.from_checkpoint(game, target, params, name=spec, seed=seed)


def _stockfish_agent(game: Game, spec: str, level: int) -> Agent:
    if game.name != "chess":
        raise _bad(spec, f"stockfish plays chess, not {game.name}")
    try:
        from alphazero.eval.stockfish import StockfishAgent
    except ImportError as err:
        raise ValueError(f"agent spec {spec!r} needs alphazero.eval.stockfish.StockfishAgent, which "
                         f"is not available: {err}") from None
    try:
        return StockfishAgent(level=level)
    except (OSError, RuntimeError) as err:
        raise ValueError(f"agent spec {spec!r}: cannot start Stockfish: {err}") from None
