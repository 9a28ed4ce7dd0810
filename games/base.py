"""The game protocol: what every game implements, what some add, and the one check of both.

A game is a stateless object: states are values (small integer arrays for the array games,
``chess.Board`` for chess) and ``apply`` returns a new state. Values are always from the
point of view of the side to move, in [-1, 1].

The design, in four parts:

* ``Game`` (a ``typing.Protocol``) lists the members every game has. Games do not inherit
  from it: any object with these members is a game, as in python-chess and mctx, where plain
  values and functions are preferred over class hierarchies.
* ``ArrayGame`` adds the three members of a game whose states are ``int64[state_size]``
  arrays stepped by Numba kernels: ``state_size``, ``step_leaves`` and ``describe_batch``.
  The search then keeps every node's state in one ``int64[B, N, state_size]`` array and
  steps the leaves without leaving Numba. A game has all three or none of them.
* ``PackedGame`` adds three members for a game whose states are Python objects (chess) but
  pack into int64 rows: ``packed_state_size``, ``pack_state`` and ``step_packed``. The search
  keeps one row per node in the same ``[B, N, S]`` array instead of a state object per node.
  All three or none.
* Optional members, each with a documented default (``OPTIONAL_METHODS``,
  ``OPTIONAL_ATTRIBUTES``): a faster ``describe`` for Python-held states, and the text for
  people (SAN, why a game ended, numbered lines, PGN, player names, notations) plus match
  defaults. ``capabilities(game)`` reads them all into one frozen ``Capabilities`` value;
  the search, self-play and the CLI branch on its fields, never on ``game.name`` or on
  ``hasattr``.
* ``check_game(game)`` lists every missing or malformed member (and checks the initial
  state against the declared shapes); ``games.register_game`` runs it once, when a game is
  registered, and raises ``GameDefinitionError`` naming them all.

Optional methods (absent: the default in brackets):

    describe(state) -> (obs float32[C, H, W], legal bool[A], terminal, value)
        encode, legal_mask, is_terminal and terminal_value in one call (chess generates its
        moves once) [the search calls the four required methods]
    outcome_reason(state) -> str | None
        why a finished game ended ("checkmate") [results say only who won]
    format_move_san(state, action) -> str
        the move in Standard Algebraic Notation, shown to people in play [format_move]
    move_number(state) -> int
        the full-move number, for lines written "12. Nf3 Nc6" [lines without numbers]
    format_pgn(state, tags) -> str
        the game that led to ``state`` (which carries its history) as PGN; play saves such
        games and shows PGN results ("1-0") [no PGN: play saves nothing]
    format_position(state) -> str
        the text ``parse_position`` reads back [none]
    render_flipped(state) -> str
        the board from the second player's side: play shows it to a human playing second,
        and its ``flip`` command turns the board [render, from the first player's side]

Optional attributes (default in brackets):

    player_names: tuple[str, str]     the first and second player ["X", "O"]
    move_notation: str                how moves are typed, for play's help ["the game's
                                      notation"]
    position_notation: str            how positions are written ["a position"]
    empty_position_allowed: bool      an empty position text is the initial state [True];
                                      False: analyse refuses an empty line, naming
                                      ``position_notation``
    default_opening_plies: int        random plies opening each pair of match games [0]
    match_max_plies: int | None       a match game this long is scored a draw [None: never]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


# --------------------------------------------------------------------------------- errors
class GameError(ValueError):
    """Base class for bad input given to a game."""


class IllegalMoveError(GameError):
    """A move that is malformed or not legal in the position."""


class InvalidPositionError(GameError):
    """A position text that cannot be parsed or describes an impossible position."""


class GameDefinitionError(TypeError):
    """A game object that does not implement the protocol; the message names every problem."""


# ------------------------------------------------------------------------------ protocols
@runtime_checkable
class Game(Protocol):
    """What the search, the trainer and the CLI need from every game.

    Attributes:
      name: short name used in configs, checkpoints and on the command line.
      num_actions: size A of the policy vector.
      observation_shape: (C, H, W) of ``encode``'s output.
    """

    name: str
    num_actions: int
    observation_shape: tuple[int, int, int]

    def initial_state(self) -> Any: ...

    def legal_mask(self, state: Any) -> np.ndarray:
        """bool[num_actions], True for legal moves (all False when terminal)."""
        ...

    def apply(self, state: Any, action: int) -> Any:
        """The state after ``action``; the argument is not modified. IllegalMoveError."""
        ...

    def is_terminal(self, state: Any) -> bool: ...

    def terminal_value(self, state: Any) -> float:
        """Outcome of a terminal state from the side to move: -1, 0 or 1."""
        ...

    def to_play(self, state: Any) -> int:
        """0 when the first player (White, X, Connect Four's first) is to move, else 1."""
        ...

    def encode(self, state: Any) -> np.ndarray:
        """float32[C, H, W] from the side to move's point of view."""
        ...

    def symmetries(
        self, observation: np.ndarray, policy: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Equivalent (observation float32[C, H, W], policy float32[A]) pairs, the identity
        first (training augments its samples with them)."""
        ...

    def parse_move(self, state: Any, text: str) -> int:
        """Action index of a move in the game's notation; raises IllegalMoveError."""
        ...

    def format_move(self, state: Any, action: int) -> str:
        """The text ``parse_move`` reads back (analyse's JSON, match records)."""
        ...

    def parse_position(self, text: str) -> Any:
        """A state from its text form; raises InvalidPositionError."""
        ...

    def render(self, state: Any) -> str:
        """A board drawing for people (several lines)."""
        ...


@runtime_checkable
class ArrayGame(Game, Protocol):
    """A game whose states are ``int64[state_size]`` arrays stepped by Numba kernels.

    Both kernels are ``@njit`` functions, stored on the game (``staticmethod``), that fill
    the output arrays in place:

    ``step_leaves(states int64[B, N, S], leaf_tree int32[M], leaf_parent int32[M],
    leaf_action int32[M], leaf_node int32[M], out_obs float32[M, C, H, W], out_legal
    bool[M, A], out_terminal bool[M], out_value float32[M])``: for each leaf i,
    ``states[b, leaf_node[i]] = apply(states[b, leaf_parent[i]], leaf_action[i])`` with
    ``b = leaf_tree[i]``, then describe the new state as ``describe_batch`` does.

    ``describe_batch(states int64[M, S], out_obs, out_legal, out_terminal, out_value)``:
    each state's observation (``encode``), legal mask, terminal flag and terminal value.
    """

    state_size: int
    step_leaves: Any
    describe_batch: Any


@runtime_checkable
class PackedGame(Game, Protocol):
    """A game whose states live in Python but pack into ``int64[packed_state_size]`` rows, so
    the search keeps one row per tree node instead of a state object (chess: 104 bytes instead
    of a board with its move stack). The row need not hold the whole state: what the rules
    read from the game's past (repetitions) is found by walking the tree's parents and then
    the root's history.

    ``pack_state(state) -> (row int64[S], history int64[H, S])``: the root's row and the rows
    of the positions before it that the rules may look back on.

    ``step_packed(rows int64[N, S], parents int[N], history int64[H, S], parent, action,
    node, out_obs float32[C, H, W], out_legal bool[A]) -> (terminal, value)``: write
    ``rows[node]``, the state after the legal ``action`` from ``rows[parent]`` (``parents``
    are the tree's, -1 at the root, node 0), and describe it as ``describe`` would the
    whole state (``out_legal`` is all False on entry).
    """

    packed_state_size: int

    def pack_state(self, state: Any) -> tuple[np.ndarray, np.ndarray]: ...

    def step_packed(self, rows: np.ndarray, parents: np.ndarray, history: np.ndarray,
                    parent: int, action: int, node: int, out_obs: np.ndarray,
                    out_legal: np.ndarray) -> tuple[bool, float]: ...


REQUIRED_ATTRIBUTES = ("name", "num_actions", "observation_shape")
REQUIRED_METHODS = ("initial_state", "legal_mask", "apply", "is_terminal", "terminal_value",
                    "to_play", "encode", "symmetries", "parse_move", "format_move",
                    "parse_position", "render")
ARRAY_MEMBERS = ("state_size", "step_leaves", "describe_batch")
PACKED_MEMBERS = ("packed_state_size", "pack_state", "step_packed")
OPTIONAL_METHODS = ("describe", "outcome_reason", "format_move_san", "move_number",
                    "format_pgn", "format_position", "render_flipped")
OPTIONAL_ATTRIBUTES: Mapping[str, Any] = {
    "player_names": ("X", "O"),
    "move_notation": "the game's notation",
    "position_notation": "a position",
    "empty_position_allowed": True,
    "default_opening_plies": 0,
    "match_max_plies": None,
}


# --------------------------------------------------------------------------- capabilities
@dataclass(frozen=True)
class Capabilities:
    """What a game offers beyond ``Game``: flags for the optional methods it has, and its
    optional attributes with the defaults filled in (see the module docstring)."""

    array_game: bool  # implements ArrayGame: Numba-stepped int64 states
    packed_states: bool  # implements PackedGame: Python states packed into int64 rows
    describe: bool  # has describe(state)
    outcome_reason: bool  # has outcome_reason(state)
    san: bool  # has format_move_san(state, action)
    move_numbers: bool  # has move_number(state)
    pgn: bool  # has format_pgn(state, tags)
    position_text: bool  # has format_position(state)
    flipped_render: bool  # has render_flipped(state)
    player_names: tuple[str, str]
    move_notation: str
    position_notation: str
    empty_position_allowed: bool
    default_opening_plies: int
    match_max_plies: int | None


def _has_method(game: Any, name: str) -> bool:
    return callable(getattr(game, name, None))


def is_array_game(game: Any) -> bool:
    """True for an ``ArrayGame``: int64 states and Numba kernels (all three members)."""
    return all(hasattr(game, member) for member in ARRAY_MEMBERS)


def capabilities(game: Any) -> Capabilities:
    """The optional members ``game`` has, read once (the one place that looks for them)."""
    values = {name: getattr(game, name, default) for name, default in OPTIONAL_ATTRIBUTES.items()}
    values["player_names"] = tuple(values["player_names"])
    return Capabilities(
        array_game=is_array_game(game),
        packed_states=all(hasattr(game, member) for member in PACKED_MEMBERS),
        describe=_has_method(game, "describe"),
        outcome_reason=_has_method(game, "outcome_reason"),
        san=_has_method(game, "format_move_san"),
        move_numbers=_has_method(game, "move_number"),
        pgn=_has_method(game, "format_pgn"),
        position_text=_has_method(game, "format_position"),
        flipped_render=_has_method(game, "render_flipped"),
        **values,
    )


# ---------------------------------------------------------------------------------- check
def _positive_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


def _member_problems(game: Any) -> list[str]:
    """Missing and malformed members, as phrases ("lacks encode")."""
    problems = []
    missing = [m for m in REQUIRED_ATTRIBUTES if not hasattr(game, m)]
    missing += [m for m in REQUIRED_METHODS if not hasattr(game, m)]
    if missing:
        problems.append(f"lacks {', '.join(missing)}")
    not_callable = [m for m in REQUIRED_METHODS + OPTIONAL_METHODS
                    if hasattr(game, m) and not callable(getattr(game, m))]
    if not_callable:
        problems.append(f"has {', '.join(not_callable)} but not as methods")
    if hasattr(game, "name") and not (isinstance(game.name, str) and game.name):
        problems.append(f"name must be a non-empty str, not {game.name!r}")
    if hasattr(game, "num_actions") and not _positive_int(game.num_actions):
        problems.append(f"num_actions must be a positive int, not {game.num_actions!r}")
    shape = getattr(game, "observation_shape", (1, 1, 1))
    if not (isinstance(shape, tuple) and len(shape) == 3 and all(map(_positive_int, shape))):
        problems.append(f"observation_shape must be a tuple (C, H, W) of positive ints, "
                        f"not {shape!r}")
    present = [m for m in ARRAY_MEMBERS if hasattr(game, m)]
    if present and len(present) < len(ARRAY_MEMBERS):
        absent = [m for m in ARRAY_MEMBERS if m not in present]
        problems.append(f"is an ArrayGame (it has {', '.join(present)}) but lacks "
                        f"{', '.join(absent)}")
    present = [m for m in PACKED_MEMBERS if hasattr(game, m)]
    if present and len(present) < len(PACKED_MEMBERS):
        absent = [m for m in PACKED_MEMBERS if m not in present]
        problems.append(f"is a PackedGame (it has {', '.join(present)}) but lacks "
                        f"{', '.join(absent)}")
    if hasattr(game, "state_size") and not _positive_int(game.state_size):
        problems.append(f"state_size must be a positive int, not {game.state_size!r}")
    kernels = [m for m in ("step_leaves", "describe_batch")
               if hasattr(game, m) and not callable(getattr(game, m))]
    if kernels:
        problems.append(f"has {', '.join(kernels)} but not as Numba functions")
    return problems + _attribute_problems(game)


def _attribute_problems(game: Any) -> list[str]:
    """Optional attributes of the wrong type."""
    caps = {name: getattr(game, name) for name in OPTIONAL_ATTRIBUTES if hasattr(game, name)}
    checks = {
        "player_names": lambda v: isinstance(v, (tuple, list)) and len(v) == 2
        and all(isinstance(s, str) for s in v),
        "move_notation": lambda v: isinstance(v, str),
        "position_notation": lambda v: isinstance(v, str),
        "empty_position_allowed": lambda v: isinstance(v, bool),
        "default_opening_plies": lambda v: isinstance(v, int) and not isinstance(v, bool)
        and v >= 0,
        "match_max_plies": lambda v: v is None or _positive_int(v),
    }
    wanted = {"player_names": "a pair of str", "move_notation": "a str",
              "position_notation": "a str", "empty_position_allowed": "a bool",
              "default_opening_plies": "an int >= 0",
              "match_max_plies": "None or a positive int"}
    return [f"{name} must be {wanted[name]}, not {value!r}" for name, value in caps.items()
            if not checks[name](value)]


def _initial_state_problems(game: Any) -> list[str]:
    """Shapes of the initial state's mask and observation against the declared ones."""
    try:
        state = game.initial_state()
        mask = np.asarray(game.legal_mask(state))
        obs = np.asarray(game.encode(state))
    except Exception as err:  # any error of the game's own code is reported, not raised
        return [f"raised {type(err).__name__} on its initial state: {err}"]
    problems = []
    if mask.dtype != np.bool_ or mask.shape != (game.num_actions,):
        problems.append(f"legal_mask(initial_state()) must be bool[{game.num_actions}], "
                        f"not {mask.dtype}{list(mask.shape)}")
    elif not mask.any():
        problems.append("has no legal move in its initial state")
    if obs.shape != tuple(game.observation_shape):
        problems.append(f"encode(initial_state()) must have shape {tuple(game.observation_shape)}"
                        f", not {obs.shape}")
    if is_array_game(game):
        if not (isinstance(state, np.ndarray) and state.dtype == np.int64
                and state.shape == (game.state_size,)):
            got = f"{state.dtype}{list(state.shape)}" if isinstance(state, np.ndarray) \
                else type(state).__name__
            problems.append(f"an ArrayGame's initial_state() must be int64[{game.state_size}], "
                            f"not {got}")
    return problems


def check_game(game: Any, name: str | None = None) -> list[str]:
    """Every problem that keeps ``game`` from being used as a game, as phrases (empty: none).

    Checks the members of ``Game`` (present, callable, well-typed), those of ``ArrayGame``
    (all or none), the optional attributes' types, that ``game.name`` equals ``name`` (the
    name it is registered under) and, when the members are right, that the initial state's
    legal mask and observation have the declared shapes.
    """
    problems = _member_problems(game)
    if name is not None and isinstance(getattr(game, "name", None), str) and game.name != name:
        problems.append(f"is registered as {name!r} but its name is {game.name!r}")
    if not problems:
        problems = _initial_state_problems(game)
    return problems


def require_game(game: Any, name: str | None = None) -> Any:
    """``game`` itself if ``check_game`` finds nothing, else ``GameDefinitionError``."""
    problems = check_game(game, name)
    if problems:
        label = name or getattr(game, "name", None) or type(game).__name__
        raise GameDefinitionError(f"game {label!r} {'; '.join(problems)}")
    return game


# ------------------------------------------------------------------------------- helpers
def legal_actions(game: Game, state: Any) -> np.ndarray:
    """int64[L] of the legal action indices, ascending."""
    return np.flatnonzero(game.legal_mask(state))


def random_opening(game: Game, plies: int, rng: np.random.Generator, *,
                   tries: int = 100) -> list[int]:
    """``plies`` uniformly random legal actions from the start that do not end the game."""
    for _ in range(tries):
        state, moves = game.initial_state(), []
        while len(moves) < plies and not game.is_terminal(state):
            action = int(rng.choice(legal_actions(game, state)))
            state, moves = game.apply(state, action), moves + [action]
        if not game.is_terminal(state):
            return moves
    raise ValueError(f"no {plies}-ply opening of {game.name} avoids ending the game")


def random_states(game: Game, count: int, rng: np.random.Generator, *,
                  plies: tuple[int, int] = (0, 10)) -> list:
    """``count`` positions, each a random opening of ``plies[0] <= n < plies[1]`` plies (see
    ``random_opening``; none is terminal): test and benchmark roots, never training data."""
    states = []
    for _ in range(count):
        state = game.initial_state()
        for action in random_opening(game, int(rng.integers(*plies)), rng):
            state = game.apply(state, action)
        states.append(state)
    return states
