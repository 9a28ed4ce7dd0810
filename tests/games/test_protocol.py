"""The declared protocol: the built-in games pass its check and declare what they offer."""

from __future__ import annotations

import numpy as np
import pytest

import games
from games.base import (
    ARRAY_MEMBERS,
    OPTIONAL_ATTRIBUTES,
    OPTIONAL_METHODS,
    REQUIRED_ATTRIBUTES,
    REQUIRED_METHODS,
    ArrayGame,
    Game,
)


def test_the_member_lists_are_the_protocols_members():
    assert set(REQUIRED_ATTRIBUTES) == set(Game.__annotations__)
    assert all(callable(getattr(Game, m)) for m in REQUIRED_METHODS)
    assert set(ARRAY_MEMBERS) == set(ArrayGame.__annotations__)
    assert not set(OPTIONAL_METHODS) & set(REQUIRED_METHODS)
    assert not set(OPTIONAL_ATTRIBUTES) & set(REQUIRED_ATTRIBUTES)


@pytest.mark.parametrize("name", games.GAME_NAMES)
def test_the_built_in_games_pass_the_check(name):
    game = games.get_game(name)
    assert games.check_game(game, name) == [] and isinstance(game, Game)
    assert games.is_array_game(game) == (name != "chess") == isinstance(game, ArrayGame)


def test_what_the_built_in_games_declare():
    chess, c4, ttt = (games.capabilities(games.get_game(n))
                      for n in ("chess", "connect4", "tictactoe"))
    assert chess.player_names == ("White", "Black") and c4.player_names == ("X", "O")
    assert chess.describe and chess.san and chess.pgn and chess.move_numbers
    assert chess.outcome_reason and not chess.empty_position_allowed
    assert (chess.match_max_plies, c4.match_max_plies, ttt.match_max_plies) == (512, None, None)
    assert [g.default_opening_plies for g in (ttt, c4, chess)] == [1, 2, 4]
    assert not (c4.san or c4.pgn or c4.describe) and c4.empty_position_allowed
    assert chess.position_notation == "a FEN or 'startpos moves ...'"


def test_random_states_are_live_openings_of_the_asked_length():
    c4 = games.get_game("connect4")
    states = games.random_states(c4, 40, np.random.default_rng(0), plies=(3, 6))
    stones = [int(c4.encode(s)[:2].sum()) for s in states]
    assert len(states) == 40 and not any(c4.is_terminal(s) for s in states)
    assert min(stones) == 3 and max(stones) == 5
    again = games.random_states(c4, 40, np.random.default_rng(0), plies=(3, 6))
    assert all((a == b).all() for a, b in zip(states, again))
    with pytest.raises(ValueError, match="avoids ending"):  # nine tic-tac-toe moves always end it
        games.random_states(games.get_game("tictactoe"), 1, np.random.default_rng(0), plies=(9, 10))
