"""Agents: random, rollout MCTS, solver, network search, and the spec parser."""

import numpy as np
import pytest

from alphazero.config import load_config
from alphazero.eval.agents import (
    Agent,
    RandomAgent,
    RolloutAgent,
    SolverAgent,
    parse_agent_spec,
)
from alphazero.eval.matches import play_match
from alphazero.eval.rollout import _decode_state, rollout_values
from alphazero.eval.search_agent import SearchAgent, cached_evaluate
from games import get_game, random_states
from games.tictactoe import perfect_values
from search import SearchParams, uniform_evaluate

C4 = get_game("connect4")
TTT = get_game("tictactoe")
# Drawn Connect Four positions (solver score 0) with 16 stones: the solver is fast from here.
DRAWN_C4_OPENINGS = ["6613545551747237", "4377563272452362"]


def digits(text):
    return [int(ch) - 1 for ch in text]


def some_states(game, count, seed=0):
    longest = 8 if game is TTT else 12  # a ninth tic-tac-toe move ends the game
    return random_states(game, count, np.random.default_rng(seed), plies=(0, longest))


def test_agents_follow_the_protocol():
    for agent in (RandomAgent(TTT), RolloutAgent(TTT, 8), SolverAgent(TTT),
                  SearchAgent(TTT, uniform_evaluate, SearchParams(simulations=4))):
        assert isinstance(agent, Agent)


def test_random_agent_plays_legal_moves_reproducibly():
    states = some_states(C4, 20)
    first = RandomAgent(C4, seed=3).select_moves(states)
    assert first == RandomAgent(C4, seed=3).select_moves(states)
    assert all(C4.legal_mask(s)[a] for s, a in zip(states, first))


@pytest.mark.parametrize("game", [C4, TTT])
def test_playout_kernel_reads_the_state_back_from_the_observation(game):
    kind = 0 if game is C4 else 1
    for state in some_states(game, 30, seed=1):
        decoded = np.zeros(3, dtype=np.int64)
        _decode_state(game.encode(state), kind, decoded)
        assert decoded.tolist() == state.tolist()


def test_playout_from_a_one_move_position_is_exact():
    # Tic-tac-toe with one empty cell: the playout has a single line, the exact result.
    rng = np.random.default_rng(0)
    results = set()
    while len(results) < 2:
        state = TTT.initial_state()
        for cell in rng.permutation(9)[:8]:
            if not TTT.is_terminal(state):
                state = TTT.apply(state, int(cell))
        if TTT.is_terminal(state):
            continue
        values = np.zeros(1, dtype=np.float32)
        rollout_values(TTT.encode(state)[None], 1, 7, values)
        assert values[0] == perfect_values(state)
        results.add(float(values[0]))  # a draw and a win for the last mover, at least


def test_rollout_agent_takes_a_win_and_blocks():
    agent = RolloutAgent(C4, 300, seed=0)
    win = C4.parse_position("121212")  # column 1 wins at once
    block = C4.parse_position("717161")  # O has three in column 1: X must block it
    assert agent.select_moves([win, block]) == [0, 0]


def test_rollout_agent_beats_random_at_connect4():
    result = play_match(C4, RolloutAgent(C4, 100, seed=1), RandomAgent(C4, seed=2), games=10)
    assert result.wins >= 8


def test_solver_agent_picks_among_the_best_moves():
    agent = SolverAgent(C4, seed=0)
    assert agent.select_moves([C4.parse_position("121212")]) == [0]
    state = C4.parse_position(DRAWN_C4_OPENINGS[0])
    scores = agent.move_scores(state)
    assert max(scores.values()) == 0  # a drawn position
    assert scores[agent.select_moves([state])[0]] == 0
    ttt = SolverAgent(TTT, seed=0)
    assert ttt.select_moves([TTT.parse_position("1425")]) == [2]  # cell 3 completes 1-2-3
    assert ttt.move_scores(TTT.parse_position("9"))[4] == 0  # after a corner only the centre
    assert sorted(v for a, v in ttt.move_scores(TTT.parse_position("9")).items()
                  if a != 4) == [-1.0] * 7  # ... holds the draw


def test_solver_never_loses_to_random_tictactoe():
    result = play_match(TTT, SolverAgent(TTT, seed=1), RandomAgent(TTT, seed=2), games=20)
    assert result.losses == 0 and result.wins > 10


def test_solver_never_loses_to_random_connect4():
    openings = [digits(text) for text in DRAWN_C4_OPENINGS]
    result = play_match(C4, SolverAgent(C4, seed=1), RandomAgent(C4, seed=2), games=4,
                        openings=openings)
    assert result.losses == 0 and result.wins >= 3


def test_search_agent_batch_matches_single_positions():
    states = some_states(C4, 5, seed=4)
    agent = SearchAgent(C4, uniform_evaluate, SearchParams(simulations=50))
    together = agent.select_moves(states)
    alone = [SearchAgent(C4, uniform_evaluate, SearchParams(simulations=50))
             .select_moves([s])[0] for s in states]
    assert together == alone
    assert agent.select_moves(states[:2]) == together[:2]  # a smaller batch reuses the trees


def test_cached_evaluate_gives_the_same_answers_with_fewer_calls():
    calls = []

    def evaluate(obs, masks):
        calls.append(len(obs))
        return obs.reshape(len(obs), -1)[:, :7] * 2.0, obs.reshape(len(obs), -1).sum(axis=1)

    cached = cached_evaluate(evaluate, capacity=100)
    obs = np.random.default_rng(0).random((4, 3, 6, 7)).astype(np.float32)
    masks = np.ones((4, 7), dtype=bool)
    first = cached(obs, masks)
    again = cached(obs[[2, 0]], masks[[2, 0]])
    assert calls == [4]
    np.testing.assert_allclose(again[0], first[0][[2, 0]])
    np.testing.assert_allclose(again[1], first[1][[2, 0]], rtol=1e-6)


def test_parse_agent_spec_forms(tmp_path):
    from nets.checkpoint import save_checkpoint
    from nets.torch_net import NetworkConfig, PolicyValueNet

    assert isinstance(parse_agent_spec(TTT, "random"), RandomAgent)
    assert isinstance(parse_agent_spec(TTT, "solver"), SolverAgent)
    rollout = parse_agent_spec(TTT, "rollout:30")
    assert isinstance(rollout, RolloutAgent) and rollout.simulations == 30
    config = NetworkConfig(blocks=1, channels=8, value_hidden=8)
    path = tmp_path / "net.pt"
    save_checkpoint(path, model_state=PolicyValueNet(config, (3, 3, 3), 9).state_dict(),
                    network_config=config, game="tictactoe", observation_shape=(3, 3, 3),
                    num_actions=9)
    agent = parse_agent_spec(TTT, f"{path}:16:gumbel", default_sims=99)
    assert isinstance(agent, SearchAgent)
    assert (agent.params.simulations, agent.params.arm) == (16, "gumbel")
    assert parse_agent_spec(TTT, str(path), default_sims=7).params.simulations == 7
    assert parse_agent_spec(TTT, f"{path}:0").params.simulations == 0
    net = parse_agent_spec(TTT, "net:5")
    assert net.params.simulations == 5 and net.params.arm == "puct"
    assert len(net.select_moves([TTT.initial_state()])) == 1


@pytest.mark.parametrize("spec, message", [
    ("", "empty"),
    ("rollout", "rollout:200"),
    ("rollout:abc", "must be an integer"),
    ("rollout:0", ">= 1"),
    ("random:3", "no ':' arguments"),
    ("net:-4", ">= 0"),
    ("net:10:alphabeta", "puct or gumbel or learned"),
    ("net:10:puct:3", "too many"),
    ("missing.pt", "no checkpoint file 'missing.pt'"),
    ("missing.pt:200", "no checkpoint file 'missing.pt'"),
    ("stockfish:3", "stockfish plays chess"),
])
def test_bad_agent_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_agent_spec(C4, spec)
    assert "random, rollout:N, solver" in str(info.value)  # the accepted forms


def test_the_learned_arm_is_accepted_and_never_swapped():
    agent = parse_agent_spec(C4, "net:16:learned")  # as the README writes it
    assert (agent.params.simulations, agent.params.arm) == (16, "learned")
    config = load_config("connect4", ["search.arm=learned"])
    agent = parse_agent_spec(C4, "net:16", search=config.search, network=config.network)
    assert agent.params.arm == "learned"  # the config's arm, not PUCT in its place
    with pytest.raises(ValueError, match="no learned search weights for tictactoe"):
        parse_agent_spec(TTT, "net:16:learned")  # none shipped: refused, not replaced


def test_solver_spec_for_chess_is_refused():
    with pytest.raises(ValueError, match="no solver for chess"):
        parse_agent_spec("chess", "solver")


def test_chess_rollout_agent_uses_python_playouts_and_finds_mate_in_one():
    chess_game = get_game("chess")
    board = chess_game.parse_position("startpos moves e2e4 e7e5 f1c4 b8c6 d1h5 g8f6")
    (action,) = RolloutAgent(chess_game, 80, seed=0).select_moves([board])
    assert chess_game.format_move(board, action) == "h5f7"


def test_exact_scores_read_the_solvers():
    from alphazero.eval.solver import ExactScores
    from games.connect4_solver import Connect4Solver

    solver = Connect4Solver()
    exact = ExactScores(C4, solver=solver)
    for text in DRAWN_C4_OPENINGS + ["121212"]:
        state = C4.parse_position(text)
        analysed = solver.analyse(text)
        assert exact.move_scores(state) == tuple(analysed[c + 1] for c in range(7))
        assert exact.score(state) == solver.solve(text)
    ttt = ExactScores(TTT)
    state = TTT.parse_position("15")
    scores = ttt.move_scores(state)
    assert scores[0] is None and scores[4] is None  # cells 1 and 5 are taken
    assert max(s for s in scores if s is not None) == ttt.score(state) == perfect_values(state)
    with pytest.raises(ValueError, match="no solver for chess"):
        ExactScores(get_game("chess"))


def test_the_arms_are_settings_of_the_one_search_agent():
    from alphazero.ablate import arm_setup
    from search.learned import READOUT_SIZE, SELECTION_SIZE, LearnedWeights
    from search.states import search_states

    rng = np.random.default_rng(0)
    weights = LearnedWeights(rng.normal(0, 0.3, SELECTION_SIZE), rng.normal(0, 0.3, READOUT_SIZE))
    states = some_states(C4, 6, seed=2)
    base = SearchParams(simulations=24)
    for arm in ("gumbel", "learned_readout", "learned"):
        setup = arm_setup(arm, base, weights=weights)
        agent = setup.agent(C4, uniform_evaluate, 16, seed=3)
        assert isinstance(agent, SearchAgent) and agent.name == f"{arm}@16"
        assert (agent.params.simulations, agent.noise, agent.learned) == (16, setup.noise,
                                                                          setup.learned)
        expected = search_states(C4, uniform_evaluate, setup.at(16), states, seed=3,
                                 learned=setup.learned, add_noise=setup.noise).action
        assert agent.select_moves(states) == expected.tolist()


def test_engine_and_agent_are_built_from_one_setup():
    from alphazero.config import load_config
    from alphazero.play.engine import SearchEngine
    from alphazero.searcher import search_setup

    config = load_config("connect4")
    setup = search_setup(C4, config.network, config.search, arm="learned", simulations=12,
                         backend="numpy")
    assert setup.params.arm == "learned" and setup.params.simulations == 12
    assert setup.learned is not None and "(numpy)" in setup.source
    engine = SearchEngine.from_setup(setup, seed=1)
    agent = SearchAgent.from_setup(setup, name="c4")
    assert isinstance(engine, SearchEngine) and engine.mcts.learned is setup.learned
    assert agent.evaluate is engine.mcts.evaluate is setup.evaluate
    assert setup.with_arm("puct").learned is None
    state = C4.parse_position("4453")
    engine.set_position(state)
    assert C4.legal_mask(state)[engine.search(12).action]  # one tree, 8 leaves a call
    assert C4.legal_mask(state)[agent.select_moves([state])[0]]  # fresh trees, batched
