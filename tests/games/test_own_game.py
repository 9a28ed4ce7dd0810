"""A game of one's own, defined in this file alone: registered, searched and trained.

Nim with one heap: players take 1, 2 or 3 stones in turn and whoever takes the last stone
wins. A position with a multiple of four stones is lost for the side to move, so the winning
move is always to leave a multiple of four. ``Nim`` keeps its states in Python (any value
would do; here a small array); ``ArrayNim`` is the same game with the three ``ArrayGame``
members, so the search steps it inside Numba. docs/own_game.md walks through this file.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numba import njit

import games
from alphazero.config import Config, ConfigError, SelfPlayConfig, TrainConfig
from alphazero.eval.agents import RandomAgent
from alphazero.eval.matches import play_match
from alphazero.eval.search_agent import SearchAgent
from alphazero.train.in_process import train_in_process
from games import GameDefinitionError, IllegalMoveError, InvalidPositionError
from nets.config import NetworkConfig
from nets.torch_net import load_model, make_evaluate_fn
from search import BatchedMCTS, SearchParams, uniform_evaluate

STONES = 12  # in the initial heap
MOST = 3  # stones one move may take; action a takes a + 1


# ------------------------------------------------------------------------------ the game
class Nim:
    """One-heap Nim behind the game protocol. State: int64[2] = [stones left, plies played]."""

    name = "nim"
    num_actions = MOST
    observation_shape = (2, 1, STONES + 1)  # one-hot of the stones left; ones
    # Optional members (games.base): names, notations.
    player_names = ("First", "Second")
    move_notation = "the number of stones to take, 1-3"
    position_notation = "the number of stones left, 0-12"

    def initial_state(self) -> np.ndarray:
        return np.array([STONES, 0], dtype=np.int64)

    def legal_mask(self, state: np.ndarray) -> np.ndarray:
        return np.arange(1, MOST + 1) <= state[0]  # all False at 0 stones: the game is over

    def apply(self, state: np.ndarray, action: int) -> np.ndarray:
        if not (0 <= action < MOST and self.legal_mask(state)[action]):
            raise IllegalMoveError(f"cannot take {action + 1} of {state[0]} stones")
        return np.array([state[0] - action - 1, state[1] + 1], dtype=np.int64)

    def is_terminal(self, state: np.ndarray) -> bool:
        return bool(state[0] == 0)

    def terminal_value(self, state: np.ndarray) -> float:
        return -1.0 if state[0] == 0 else 0.0  # the opponent took the last stone

    def to_play(self, state: np.ndarray) -> int:
        return int(state[1] % 2)

    def encode(self, state: np.ndarray) -> np.ndarray:
        obs = np.zeros(self.observation_shape, dtype=np.float32)
        obs[0, 0, state[0]] = 1.0
        obs[1] = 1.0
        return obs

    def symmetries(self, observation, policy):
        return [(observation, policy)]

    def parse_move(self, state: np.ndarray, text: str) -> int:
        text = text.strip()
        if text not in ("1", "2", "3"):
            raise IllegalMoveError(f"{text!r}: take 1, 2 or 3 stones")
        if int(text) > state[0]:
            raise IllegalMoveError(f"only {state[0]} stones are left")
        return int(text) - 1

    def format_move(self, state: np.ndarray, action: int) -> str:
        return str(action + 1)

    def parse_position(self, text: str) -> np.ndarray:
        text = text.strip()
        if not text:
            return self.initial_state()
        if not text.isdigit() or int(text) > STONES:
            raise InvalidPositionError(f"{text!r} is not a number of stones 0-{STONES}")
        return np.array([int(text), 0], dtype=np.int64)

    def render(self, state: np.ndarray) -> str:
        return f"{state[0]} stones: " + "|" * int(state[0])


@njit
def _describe_nb(state, obs, legal):
    """Fill obs float32[2, 1, STONES + 1] and legal bool[MOST]; return the terminal flag."""
    obs[:] = 0.0
    obs[0, 0, state[0]] = 1.0
    obs[1] = 1.0
    for a in range(MOST):
        legal[a] = a + 1 <= state[0]
    return state[0] == 0


@njit
def nim_step_leaves(states, leaf_tree, leaf_parent, leaf_action, leaf_node, out_obs, out_legal,
                    out_terminal, out_value):
    for i in range(leaf_tree.shape[0]):
        parent, child = states[leaf_tree[i], leaf_parent[i]], states[leaf_tree[i], leaf_node[i]]
        child[0] = parent[0] - leaf_action[i] - 1
        child[1] = parent[1] + 1
        out_terminal[i] = _describe_nb(child, out_obs[i], out_legal[i])
        out_value[i] = -1.0 if out_terminal[i] else 0.0


@njit
def nim_describe_batch(states, out_obs, out_legal, out_terminal, out_value):
    for i in range(states.shape[0]):
        out_terminal[i] = _describe_nb(states[i], out_obs[i], out_legal[i])
        out_value[i] = -1.0 if out_terminal[i] else 0.0


class ArrayNim(Nim):
    """The same game as an ArrayGame: its int64 states live in the search's arrays."""

    name = "nim-array"
    state_size = 2
    step_leaves = staticmethod(nim_step_leaves)
    describe_batch = staticmethod(nim_describe_batch)


@pytest.fixture(scope="module", autouse=True)
def registered():
    """Both games registered for this file's tests, and forgotten after them."""
    games.register_game("nim", Nim)
    games.register_game("nim-array", ArrayNim)
    yield
    games.unregister_game("nim")
    games.unregister_game("nim-array")


# ------------------------------------------------------------------------- registration
def test_registered_games_are_found_by_name_with_their_capabilities():
    nim, array_nim = games.get_game("nim"), games.get_game("nim-array")
    assert isinstance(nim, Nim) and games.get_game("nim") is nim  # built once
    assert not games.is_array_game(nim) and games.is_array_game(array_nim)
    assert isinstance(array_nim, games.ArrayGame) and isinstance(nim, games.Game)
    caps = games.capabilities(nim)
    assert caps.player_names == ("First", "Second") and caps.default_opening_plies == 0
    assert not caps.san and caps.empty_position_allowed
    assert {"nim", "nim-array"} <= set(games.game_names())


def _without(*members: str) -> type:
    """A copy of the Nim class without ``members``."""
    body = {k: v for k, v in vars(Nim).items() if k not in members and not k.startswith("__")}
    return type("Broken", (), {**body, "name": "nim-broken"})


def test_a_game_missing_methods_is_refused_naming_them():
    with pytest.raises(GameDefinitionError, match=r"game 'nim-broken' lacks legal_mask, encode$"):
        games.register_game("nim-broken", _without("legal_mask", "encode"))
    assert "nim-broken" not in games.game_names()


def test_an_array_game_missing_a_kernel_is_named_as_such():
    half = type("HalfArray", (Nim,), {"name": "nim-half", "state_size": 2,
                                      "step_leaves": staticmethod(nim_step_leaves)})
    with pytest.raises(GameDefinitionError, match="is an ArrayGame .* lacks describe_batch"):
        games.register_game("nim-half", half)


def test_malformed_members_are_named_all_at_once():
    bad = type("Bad", (Nim,), {"name": "nim-bad", "num_actions": 0, "player_names": "AB",
                               "render": "a board"})
    with pytest.raises(GameDefinitionError) as err:
        games.register_game("nim-bad", bad)
    message = str(err.value)
    for phrase in ("has render but not as methods", "num_actions must be a positive int, not 0",
                   "player_names must be a pair of str, not 'AB'"):
        assert phrase in message


def test_the_initial_state_is_checked_against_the_declared_shapes():
    wide = type("Wide", (Nim,), {"name": "nim-wide",
                                 "encode": lambda self, state: np.zeros((2, 1, 5), np.float32)})
    with pytest.raises(GameDefinitionError, match=r"encode\(initial_state\(\)\) must have shape"):
        games.register_game("nim-wide", wide)
    assert games.check_game(Nim()) == []
    assert games.check_game(Nim(), "other") == ["is registered as 'other' but its name is 'nim'"]


def test_names_factories_and_unknown_games():
    with pytest.raises(ValueError, match="'nim' is already registered"):
        games.register_game("nim", Nim)
    with pytest.raises(TypeError, match="needs a factory"):
        games.register_game("nim-instance", Nim())
    with pytest.raises(ValueError, match=r"unknown game 'go': choose one of tictactoe, connect4, "
                       r"chess, .*nim"):
        games.get_game("go")


# ------------------------------------------------------------------------------- search
def _stones(observations: np.ndarray) -> np.ndarray:
    return observations[:, 0, 0, :].argmax(axis=1)  # int64[M] from float32[M, 2, 1, 13]


def knows_multiples_of_four(observations: np.ndarray, legal_masks: np.ndarray):
    """An evaluate function of one's own: exact values, uniform priors."""
    values = np.where(_stones(observations) % 4 == 0, -1.0, 1.0).astype(np.float32)
    return np.zeros(legal_masks.shape, dtype=np.float32), values


@pytest.mark.parametrize("name", ["nim", "nim-array"])
@pytest.mark.parametrize("evaluate, simulations", [(uniform_evaluate, 400),
                                                   (knows_multiples_of_four, 16)])
def test_batched_search_finds_the_forced_wins(name, evaluate, simulations):
    game = games.get_game(name)
    roots = [game.parse_position(text) for text in ("5", "6", "7", "10")]
    mcts = BatchedMCTS(game, evaluate, SearchParams(simulations=simulations),
                       batch_size=len(roots), seed=0)
    mcts.set_roots(roots)
    result = mcts.run()
    assert result.action.tolist() == [0, 1, 2, 1]  # leave 4, 4, 4 and 8 stones
    assert (result.value > 0).all()


# -------------------------------------------------------------------------------- train
def test_training_a_few_steps_in_process_then_playing_the_network(tmp_path):
    config = Config(
        game="nim-array",
        network=NetworkConfig(blocks=1, channels=8, value_hidden=16),
        search=SearchParams(simulations=8),
        selfplay=SelfPlayConfig(workers=1, games_per_worker=8, temperature_moves=4),
        train=TrainConfig(steps=6, batch_size=32, min_buffer=64, buffer_size=2000,
                          publish_every=2, eval_every=0, seed=1),
    )
    steps_seen = []
    result = train_in_process(games.get_game("nim-array"), config,
                              progress=lambda step, losses: steps_seen.append(step))
    assert result.step == 6 and steps_seen[-1] == 6 and result.games > 0
    assert np.isfinite(result.losses["losses/total"])
    path = tmp_path / "nim.pt"
    result.learner.save(path, tmp_path / "nim.replay.npz")
    model, checkpoint = load_model(path, expected_game="nim-array")
    assert checkpoint["step"] == 6
    params = dataclasses.replace(config.search, simulations=32)
    agent = SearchAgent("nim-array", make_evaluate_fn(model), params, name="trained")
    match = play_match("nim-array", agent, RandomAgent("nim-array", seed=2), games=4, seed=3)
    assert match.wins + match.draws + match.losses == 4


def test_the_ray_driver_refuses_a_game_its_workers_cannot_find(tmp_path):
    from alphazero.train.driver import train  # imports Ray: only this test needs it

    with pytest.raises(ConfigError, match="'nim' is registered in this process only"):
        train(Config(game="nim"), run_dir=tmp_path)


def test_in_process_training_refuses_tandem_search_training():
    from alphazero.config import SearchTrainingConfig

    config = Config(search=SearchParams(arm="learned"),
                    search_training=SearchTrainingConfig(enabled=True))
    with pytest.raises(ValueError, match="runs in 'alphazero train'"):
        train_in_process("tictactoe", config)
