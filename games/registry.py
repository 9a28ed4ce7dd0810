"""Games by name: ``register_game`` checks a game once; ``get_game`` finds it.

The built-in games are registered here like any other, lazily: their modules are imported
(and the game checked) the first time ``get_game`` asks for them, so that ``import games``
loads neither python-chess nor the Numba kernels of games a command does not play.

    import games

    class Nim: ...                    # the members of games.base.Game
    games.register_game("nim", Nim)   # builds Nim(), checks it, or names what is wrong
    games.get_game("nim")

A game registered in one process is known in that process only: Ray workers of
``alphazero train`` find games by name in their own process, so they know the built-in games
(and games registered when a module they import is imported); see docs/own_game.md.
"""

from __future__ import annotations

from collections.abc import Callable

from games.base import Game, require_game

GameFactory = Callable[[], Game]
"""A zero-argument callable that makes the game: its class, or a function."""

_factories: dict[str, GameFactory] = {}  # name -> factory, in registration order
_games: dict[str, Game] = {}  # name -> the checked game, once built


def register_game(name: str, factory: GameFactory, *, lazy: bool = False,
                  replace: bool = False) -> Game | None:
    """Make ``factory()`` the game called ``name``; return it (None when ``lazy``).

    The game is built and checked now (``games.base.check_game``); a ``GameDefinitionError``
    names every missing or malformed member. ``lazy=True`` defers building and checking to
    the first ``get_game(name)``, once. ``ValueError`` if ``name`` is taken, unless
    ``replace``; ``TypeError`` if ``factory`` is not callable (pass the class, or
    ``lambda: GAME``).
    """
    if not (isinstance(name, str) and name):
        raise ValueError(f"a game's name must be a non-empty str, not {name!r}")
    if not callable(factory):
        raise TypeError(f"register_game({name!r}, ...) needs a factory (the game's class or a "
                        f"function returning the game), not {type(factory).__name__}")
    if name in _factories and not replace:
        raise ValueError(f"game {name!r} is already registered (pass replace=True to "
                         f"replace it)")
    game = None if lazy else require_game(factory(), name)
    _factories[name] = factory
    _games.pop(name, None)
    if game is not None:
        _games[name] = game
    return game


def unregister_game(name: str) -> None:
    """Forget the game called ``name`` (``ValueError`` if there is none)."""
    if name not in _factories:
        raise ValueError(_unknown(name))
    del _factories[name]
    _games.pop(name, None)


def get_game(name: str) -> Game:
    """The game called ``name``; raises ValueError naming the known games."""
    game = _games.get(name)
    if game is None:
        if name not in _factories:
            raise ValueError(_unknown(name))
        game = _games[name] = require_game(_factories[name](), name)
    return game


def game_names() -> tuple[str, ...]:
    """The names of the registered games, in registration order (the built-ins first)."""
    return tuple(_factories)


def _unknown(name: str) -> str:
    return f"unknown game {name!r}: choose one of {', '.join(_factories)}"


# Lazy: chess imports python-chess, the array games load their Numba kernels.
def _tictactoe() -> Game:
    from games.tictactoe import GAME

    return GAME


def _connect4() -> Game:
    from games.connect4 import GAME

    return GAME


def _chess() -> Game:
    from games.chess import GAME

    return GAME


_BUILT_IN = (("tictactoe", _tictactoe), ("connect4", _connect4), ("chess", _chess))
GAME_NAMES = tuple(name for name, _ in _BUILT_IN)
"""The built-in games: those every process knows (the command line's choices)."""

for _name, _factory in _BUILT_IN:
    register_game(_name, _factory, lazy=True)
