"""Players for matches and the evaluation ladder, behind one small protocol.

An agent chooses one move for each of a *batch* of positions, one per concurrent game, so a
network agent searches them all in one ``BatchedMCTS`` (one network call per simulation step
for every game at once). That is what makes a match of dozens of games fast.

Agents: ``SearchAgent`` (alphazero/eval/search_agent.py: a network with PUCT, Gumbel or the
learned search, or its policy alone at 0 simulations), ``RandomAgent``, ``RolloutAgent``
(alphazero/eval/rollout.py: MCTS with uniform priors whose leaf value is one random playout
to the end), ``SolverAgent`` (perfect play at tic-tac-toe and Connect Four) and, through a
hook, ``alphazero.eval.stockfish.StockfishAgent``.
``parse_agent_spec`` builds any of them from text such as ``rollout:200`` or
``runs/c4/step_2000.pt:400:gumbel``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from alphazero.config import load_config
from alphazero.eval.rollout import RolloutAgent
from alphazero.eval.search_agent import SearchAgent
from alphazero.eval.solver import ExactScores
from alphazero.searcher import search_setup
from games import get_game
from games.base import Game
from search import SearchParams
from search.params import MAX_SIMULATIONS

SPEC_FORMS = "random, rollout:N, solver, stockfish:LEVEL, net[:SIMS[:ARM]], PATH.pt[:SIMS[:ARM]]"
SPEC_ARMS = ("puct", "gumbel", "learned")


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
        self.exact = ExactScores(self.game, solver=solver)  # ValueError: no solver
        self.name = name
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        self._rng = np.random.default_rng(self._seed)

    def move_scores(self, state: Any) -> dict[int, float]:
        """Exact score of each legal action for the side to move."""
        return {a: float(s) for a, s in enumerate(self.exact.move_scores(state))
                if s is not None}

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


def _positive_int(spec: str, text: str, what: str, *, allow_zero: bool = False,
                  high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _bad(spec, f"{what} must be an integer, not {text!r}") from None
    if value < (0 if allow_zero else 1):
        raise _bad(spec, f"{what} must be {'>= 0' if allow_zero else '>= 1'}, not {value}")
    if high is not None and value > high:
        raise _bad(spec, f"{what} must be <= {high}, not {value}")
    return value


def _search_suffix(spec: str, args: list[str]) -> tuple[int | None, str | None]:
    """``[]``, ``[SIMS]`` or ``[SIMS, ARM]`` -> (simulations or None, arm or None)."""
    if len(args) > 2:
        raise _bad(spec, "too many ':' fields")
    sims = _positive_int(spec, args[0], "the simulation count", allow_zero=True,
                         high=MAX_SIMULATIONS) if args else None
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
                     network: Any = None, backend: str = "auto") -> Agent:
    """Build an agent from text; raises ValueError with the accepted forms on a bad spec.

    ``random`` · ``rollout:N`` (N simulations with random playouts) · ``solver`` ·
    ``stockfish:LEVEL`` (chess; needs ``alphazero.eval.stockfish``) · ``net`` / ``net:SIMS`` /
    ``net:SIMS:ARM`` (the shipped checkpoint, else a fresh network) · ``PATH`` /
    ``PATH:SIMS`` / ``PATH:SIMS:ARM`` (a checkpoint file; ARM is puct, gumbel or learned).
    ``search`` and ``network`` default to the game's config (``alphazero/configs/GAME.yaml``);
    ``default_sims`` (default: the config's) applies when the spec gives no SIMS.
    ``backend`` runs the network (``nets.backends``).
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
        budget = _positive_int(spec, args[0], "the rollout budget", high=MAX_SIMULATIONS)
        return RolloutAgent(game, budget, seed=seed,
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
        config = load_config(game.name)
        search = search or config.search
        network = network or config.network
    if sims is None:
        sims = default_sims if default_sims is not None else search.simulations
    if arm is None:  # the config's arm, whatever it is: never another one in its place
        arm = search.arm
    setup = search_setup(game, network, search, checkpoint=None if target == "net" else target,
                         arm=arm, simulations=sims, backend=backend, seed=seed)
    return SearchAgent.from_setup(setup, name=spec, seed=seed)


def _stockfish_agent(game: Game, spec: str, level: int) -> Agent:
    if game.name != "chess":
        raise _bad(spec, f"stockfish plays chess, not {game.name}")
    try:
        from alphazero.eval.stockfish import StockfishAgent
    except ImportError as err:
        raise ValueError(f"agent spec {spec!r} needs alphazero.eval.stockfish.StockfishAgent, "
                         f"which is not available: {err}") from None
    try:
        return StockfishAgent(level=level)
    except (OSError, RuntimeError) as err:
        raise ValueError(f"agent spec {spec!r}: cannot start Stockfish: {err}") from None
