"""Matches: play_match, PGN, and the ``alphazero match`` command driven through main()."""

import io
import re

import chess.pgn
import pytest

from alphazero.cli import main
from alphazero.eval.agents import RandomAgent
from alphazero.eval.matches import match_pgn, play_match, play_matches
from games import get_game

C4 = get_game("connect4")
TTT = get_game("tictactoe")


def run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def wdl(out):
    wins, draws, losses = re.search(r"(\d+) wins, (\d+) draws, (\d+) losses", out).groups()
    return int(wins), int(draws), int(losses)


def test_cli_solver_vs_solver_is_all_draws(capsys):
    code, out, _ = run(capsys, ["match", "tictactoe", "--a", "solver", "--b", "solver",
                                "--games", "12", "--seed", "3"])
    assert code == 0
    assert wdl(out) == (0, 12, 0)
    assert "Elo A - B: +0" in out


def test_cli_against_random_sums_to_n_and_writes_pgn(capsys, tmp_path):
    pgn = tmp_path / "games.pgn"
    code, out, err = run(capsys, ["match", "connect4", "--a", "rollout:40", "--b", "random",
                                  "--games", "7", "--pgn", str(pgn)])
    assert code == 0
    assert sum(wdl(out)) == 7
    assert re.search(r"Elo A - B: [<>]? ?[+-]\d+", out)
    text = pgn.read_text()
    assert text.count('[Variant "connect4"]') == 7 and "wrote 7 games" in err


def test_cli_network_agent_with_sims(capsys):
    code, out, _ = run(capsys, ["match", "tictactoe", "--a", "net", "--b", "random",
                                "--games", "4", "--sims", "8"])
    assert code == 0 and sum(wdl(out)) == 4


def test_cli_chess_pgn_is_read_back_by_python_chess(capsys, tmp_path):
    pgn = tmp_path / "chess.pgn"
    code, out, _ = run(capsys, ["match", "chess", "--a", "random", "--b", "random", "--games",
                                "2", "--max-plies", "30", "--pgn", str(pgn)])
    assert code == 0 and sum(wdl(out)) == 2
    with open(pgn) as f:
        games = [chess.pgn.read_game(f) for _ in range(2)]
    assert [g.headers["White"] for g in games] == ["random", "random"]
    for g in games:
        assert len(list(g.mainline_moves())) == 30  # adjudicated at --max-plies
        assert g.headers["Result"] == "1/2-1/2" and g.headers["Termination"] == "max plies"


@pytest.mark.parametrize("argv, message", [
    (["--a", "rollout:x", "--b", "random"], "--a: bad agent spec 'rollout:x'"),
    (["--a", "random", "--b", "nope.pt"], "--b: bad agent spec 'nope.pt'"),
    (["--a", "random", "--b", "random", "--games", "0"], "--games must be >= 1"),
])
def test_cli_errors_are_one_line(capsys, argv, message):
    code, _, err = run(capsys, ["match", "tictactoe", *argv])
    assert code == 2 and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_colours_alternate_and_pairs_share_openings():
    result = play_match(C4, RandomAgent(C4, seed=1), RandomAgent(C4, seed=2), games=6,
                        opening_plies=3, seed=5)
    records = result.records
    assert [r.a_first for r in records] == [True, False] * 3
    for first, second in zip(records[::2], records[1::2]):
        assert first.moves[:3] == second.moves[:3] and first.opening_plies == 3
    assert result.wins + result.draws + result.losses == 6
    assert all(r.score_a in (0.0, 0.5, 1.0) for r in records)


class Spy(RandomAgent):
    """A random agent that records how many positions each call gets."""

    def __init__(self, game, **kw):
        super().__init__(game, **kw)
        self.batches = []

    def select_moves(self, states):
        self.batches.append(len(states))
        return super().select_moves(states)


def test_one_call_per_turn_for_all_games_of_all_matches():
    shared = Spy(TTT, seed=0)
    results = play_matches(TTT, [(shared, RandomAgent(TTT, seed=1)),
                                 (shared, RandomAgent(TTT, seed=2))], games=4)
    assert [len(r.records) for r in results] == [4, 4]
    assert shared.batches[0] == 4  # the games where it moves first, from both matches
    assert sum(shared.batches) == sum(len([m for i, m in enumerate(r.moves)
                                           if i >= r.opening_plies and (i % 2 == 0) == r.a_first])
                                      for res in results for r in res.records)


def test_illegal_moves_name_the_agent():
    class Cheat(RandomAgent):
        def select_moves(self, states):
            return [0 for _ in states]

    with pytest.raises(ValueError, match="agent cheat made an illegal move"):
        play_match(C4, Cheat(C4, name="cheat"), RandomAgent(C4), games=2, opening_plies=0)


def test_max_plies_adjudicates_a_draw_and_pgn_marks_it():
    result = play_match(C4, RandomAgent(C4), RandomAgent(C4, seed=1), games=2, max_plies=5)
    assert result.draws == 2 and all(len(r.moves) == 5 for r in result.records)
    text = match_pgn(C4, result)
    assert text.count('[Termination "max plies"]') == 2
    assert re.search(r"1\. \d \d 2\. \d \d 3\. \d 1/2-1/2", text)


def test_tictactoe_pgn_round_trip_of_moves():
    result = play_match(TTT, RandomAgent(TTT), RandomAgent(TTT, seed=4), games=2)
    first = io.StringIO(match_pgn(TTT, result)).read().split("\n\n")[1]
    cells = [w for w in first.split() if not w.endswith(".") and w not in ("1-0", "0-1",
                                                                            "1/2-1/2")]
    assert [int(c) - 1 for c in cells] == result.records[0].moves


def test_cli_set_reaches_the_network_agents_search(capsys, monkeypatch):
    import alphazero.eval.agents as agents

    seen = []
    real = agents.parse_agent_spec

    def spy(game, spec, **kwargs):
        seen.append((spec, kwargs["search"]))
        return real(game, spec, **kwargs)

    monkeypatch.setattr(agents, "parse_agent_spec", spy)
    code, out, _ = run(capsys, ["match", "tictactoe", "--a", "net:4", "--b", "random",
                                "--games", "2", "--set", "search.c_init=2.5",
                                "--set", "search.fpu_reduction=0.3"])
    assert code == 0 and sum(wdl(out)) == 2
    assert [(spec, s.c_init, s.fpu_reduction) for spec, s in seen] == [
        ("net:4", 2.5, 0.3), ("random", 2.5, 0.3)]


@pytest.mark.parametrize("override, message", [
    ("search.c_unit=2", "c_unit"),
    ("search.c_init=lots", "c_init"),
    ("search", "key=value"),
])
def test_cli_bad_set_is_a_clear_error(capsys, override, message):
    code, out, err = run(capsys, ["match", "tictactoe", "--a", "random", "--b", "random",
                                  "--games", "2", "--set", override])
    assert code != 0 and message in err and "Traceback" not in err and out == ""


def test_cli_seed_names_the_games_play_match_gives_with_agent_seed(capsys, tmp_path):
    """`alphazero match --seed N` and the benchmark scripts seed agents the same way, so a seed
    names the same games in each of them."""
    from alphazero.eval.agents import parse_agent_spec
    from alphazero.eval.matches import agent_seed

    def moves_only(text):
        return [line for line in text.splitlines() if line and not line.startswith("[")]

    pgn = tmp_path / "games.pgn"
    code, _, _ = run(capsys, ["match", "tictactoe", "--a", "rollout:8", "--b", "random",
                              "--games", "10", "--seed", "5", "--pgn", str(pgn)])
    assert code == 0
    agents = [parse_agent_spec(TTT, spec, seed=agent_seed(5, i))
              for i, spec in enumerate(("rollout:8", "random"))]
    result = play_match(TTT, agents[0], agents[1], games=10, seed=5)
    assert moves_only(match_pgn(TTT, result)) == moves_only(pgn.read_text())
    other = play_match(TTT, parse_agent_spec(TTT, "rollout:8", seed=5),
                       parse_agent_spec(TTT, "random", seed=6), games=10, seed=5)
    assert moves_only(match_pgn(TTT, other)) != moves_only(pgn.read_text())


def test_pgn_headers_name_the_date_round_players_and_time_control():
    import datetime

    result = play_match(C4, RandomAgent(C4), RandomAgent(C4, seed=1), games=2)
    text = match_pgn(C4, result, event="test event")
    today = datetime.date.today().strftime("%Y.%m.%d")
    assert text.count(f'[Date "{today}"]') == 2 and '[Event "test event"]' in text
    assert '[Round "1"]' in text and '[Round "2"]' in text and '[TimeControl "-"]' in text
    assert "????" not in text


def test_counts_are_written_in_words():
    from alphazero.cli.common import plural

    assert [plural(1, "draw"), plural(2, "draw"), plural(0, "loss"), plural(1, "win")] == \
        ["1 draw", "2 draws", "0 losses", "1 win"]


def test_progress_is_reported_every_turn_with_the_longest_game():
    calls = []
    play_match(C4, RandomAgent(C4), RandomAgent(C4, seed=1), games=4,
               progress=lambda done, total, plies: calls.append((done, total, plies)))
    assert len(calls) > 4 and all(total == 4 for _, total, _ in calls)  # more calls than games
    assert calls[0][0] == 0 and calls[-1][:2] == (4, 4)
    assert calls[1][2] > calls[0][2]  # the plies advance while no game has ended
