"""``alphazero match GAME --a SPEC --b SPEC``: W/D/L and the Elo difference of two agents."""

from __future__ import annotations

import argparse
import sys
import time

from games import GAME_NAMES
from nets.backends import BACKENDS

DESCRIPTION = """\
Play GAMES games between agents A and B, all at once, colours alternating, and print A's
wins, draws and losses and the Elo difference A - B with its 95% interval. Agent specs:
random; rollout:N (MCTS, N simulations a move, one random playout per leaf); solver (perfect
play, tictactoe and connect4: slow in the Connect Four opening, so give --opening-plies 12 or
more); stockfish:LEVEL (chess); net, net:SIMS or net:SIMS:ARM (the shipped checkpoint, else a
fresh network); PATH, PATH:SIMS or PATH:SIMS:ARM (a checkpoint; ARM is puct or gumbel).
Each pair of games starts from the same random opening, once with each agent moving first."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("match", help="play two agents against each other: W/D/L and Elo",
                              description=DESCRIPTION)
    p.add_argument("game", choices=GAME_NAMES, help="the game to play")
    p.add_argument("--a", required=True, metavar="SPEC", help="agent A (its W/D/L are printed)")
    p.add_argument("--b", required=True, metavar="SPEC", help="agent B")
    p.add_argument("--games", type=int, default=20, help="games to play (default 20)")
    p.add_argument("--sims", type=int,
                   help="simulations of network agents whose spec gives none (default: config's)")
    p.add_argument("--seed", type=int, default=0, help="seeds openings and agents (default 0)")
    p.add_argument("--pgn", metavar="FILE", help="write the games as PGN to FILE")
    p.add_argument("--opening-plies", type=int, metavar="N",
                   help="random plies opening each pair of games (default: 1 tictactoe, "
                   "2 connect4, 4 chess)")
    p.add_argument("--max-plies", type=int, metavar="N",
                   help="adjudicate a game as a draw after N plies (default: 512 for chess)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of the game's config for both network agents, e.g. "
                   "--set search.c_init=2.0 (search keys; a checkpoint keeps its own network)")
    p.add_argument("--backend", choices=list(BACKENDS),
                   help="what runs the network agents' networks (see analyse --help; "
                   "default: the config's backend)")
    p.set_defaults(func=cmd_match)


def cmd_match(args: argparse.Namespace) -> int:
    import numpy as np

    from alphazero.cli.common import UsageError, check_simulations, plural, writable_file
    from alphazero.config import load_config
    from alphazero.eval.agents import parse_agent_spec
    from alphazero.eval.elo import format_elo
    from alphazero.eval.matches import agent_seed, match_pgn, play_match
    from games import capabilities, get_game
    from games.base import random_opening

    if args.games < 1:
        raise UsageError("--games must be >= 1")
    check_simulations(args.sims)
    if args.opening_plies is not None and args.opening_plies < 0:
        raise UsageError("--opening-plies must be >= 0")
    if args.max_plies is not None and args.max_plies < 1:
        raise UsageError(f"--max-plies must be >= 1, not {args.max_plies}")
    if args.pgn is not None:  # before the games are played
        writable_file(args.pgn, "--pgn")
    game = get_game(args.game)
    config = load_config(game.name, args.set)  # ConfigError: a clear message from main
    caps = capabilities(game)
    plies = caps.default_opening_plies if args.opening_plies is None else args.opening_plies
    try:  # an opening too long for the game: said before any agent loads
        random_opening(game, plies, np.random.default_rng(args.seed))
    except ValueError as err:
        raise UsageError(f"--opening-plies {plies}: {err}") from None
    agents = []
    try:
        for which, spec in (("a", args.a), ("b", args.b)):
            agents.append(parse_agent_spec(game, spec, default_sims=args.sims,
                                           search=config.search, network=config.network,
                                           seed=agent_seed(args.seed, len(agents)),
                                           backend=args.backend or config.backend))
    except ValueError as err:
        raise UsageError(f"--{which}: {err}") from None
    max_plies = args.max_plies or caps.match_max_plies
    if game.name == "connect4" and plies < 12 and "solver" in (args.a, args.b):
        print("note: the Connect Four solver takes seconds to minutes a move before about 12 "
              "stones; --opening-plies 12 or more keeps a match quick", file=sys.stderr)
    print(f"match {game.name}: A = {args.a}, B = {args.b}; {args.games} games, "
          f"{plies} random opening {'ply' if plies == 1 else 'plies'} per pair", file=sys.stderr,
          flush=True)

    started = time.perf_counter()

    def progress(done: int, total: int, plies: int) -> None:  # on a terminal, else silence
        where = f", longest game at ply {plies}" if done < total else ""
        print(f"\r{done}/{total} games finished{where}, {time.perf_counter() - started:.0f} s"
              "\x1b[K", end="\n" if done == total else "", file=sys.stderr, flush=True)

    try:
        result = play_match(game, agents[0], agents[1], games=args.games, opening_plies=plies,
                            max_plies=max_plies, seed=args.seed,
                            progress=progress if sys.stderr.isatty() else None)
    finally:
        for agent in agents:
            close = getattr(agent, "close", None)
            if close is not None:
                close()
    est = result.elo()
    print(f"A ({args.a}) vs B ({args.b}), {plural(args.games, 'game')}")
    counts = ", ".join(plural(n, word) for n, word in ((result.wins, "win"),
                                                        (result.draws, "draw"),
                                                        (result.losses, "loss")))
    print(f"A: {counts} (score {100 * est.score:.1f}%)")
    print(f"Elo A - B: {format_elo(est)}")
    if args.pgn:
        try:
            with open(args.pgn, "w", encoding="utf-8") as f:
                f.write(match_pgn(game, result, event=f"alphazero match {args.a} vs {args.b}"))
        except OSError as err:
            raise UsageError(f"cannot write {args.pgn}: {err.strerror}") from None
        print(f"wrote {plural(args.games, 'game')} to {args.pgn}", file=sys.stderr)
    return 0
