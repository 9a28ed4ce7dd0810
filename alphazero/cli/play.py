"""``alphazero play GAME``: play against the engine in the terminal."""

from __future__ import annotations

import argparse
import datetime
import sys

from alphazero.cli.common import (
    UsageError,
    add_engine_flags,
    check_simulations,
    check_threads,
    writable_file,
)
from games import GAME_NAMES, capabilities

COLORS = {"first": 0, "white": 0, "x": 0, "second": 1, "black": 1, "o": 1}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "play", help="play a game against the engine in the terminal",
        description="Moves: chess in SAN (Nf3, O-O, e8=Q) or UCI (g1f3); Connect Four a column "
        "1-7; tic-tac-toe a cell 1-9. Commands: undo, hint, eval, help, quit.")
    p.add_argument("game", choices=GAME_NAMES, help="the game to play")
    add_engine_flags(p, sims_help="simulations per engine move (default: config's)")
    p.add_argument("--color", default="first", type=str.lower, choices=sorted(COLORS),
                   help="your side: first/white/x or second/black/o (default first)")
    p.add_argument("--pgn", help="where to save a chess game "
                   "(default runs/play/chess-<date>-<time>.pgn)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the engine's search noise (default 0)")
    p.set_defaults(func=cmd_play)


def build_engine(game_name: str, *, checkpoint: str | None, sims: int | None,
                 search_arm: str | None, config_name: str | None, overrides: list[str],
                 threads: int = 1, seed: int = 0, backend: str | None = None):
    """(SearchEngine, search params, sentence saying which network) for ``alphazero play``."""
    from alphazero.config import load_config
    from alphazero.play.engine import SearchEngine
    from alphazero.searcher import search_setup
    from games import get_game

    config = load_config(config_name or game_name, overrides)
    if config.game != game_name:
        raise UsageError(f"config {config_name} is for {config.game}, not {game_name}")
    check_simulations(sims, low=1)
    check_threads(threads)
    # ONNX Runtime (or numpy) when the checkpoint allows: no torch import, and the fastest
    setup = search_setup(get_game(game_name), config.network, config.search,
                         checkpoint=checkpoint, arm=search_arm, simulations=sims,
                         num_threads=threads, backend=backend or config.backend)
    engine = SearchEngine.from_setup(setup, seed=seed)
    return engine, engine.params, setup.source


def cmd_play(args: argparse.Namespace) -> int:
    from alphazero.play.terminal import play_session

    if args.pgn is not None:  # before the game: a game played cannot then be lost
        writable_file(args.pgn, "--pgn")
    engine, params, source = build_engine(
        args.game, checkpoint=args.checkpoint, sims=args.sims, search_arm=args.search,
        config_name=args.config, overrides=args.set, threads=args.threads, seed=args.seed,
        backend=args.backend)
    print(f"play {args.game}: {source}; {params.arm} search, {params.simulations} simulations "
          f"a move", file=sys.stderr, flush=True)
    pgn = args.pgn
    if pgn is None and capabilities(engine.game).pgn:
        pgn = f"runs/play/{engine.game.name}-{datetime.datetime.now():%Y%m%d-%H%M%S}.pgn"
    play_session(engine.game, engine, human=COLORS[args.color], simulations=params.simulations,
                 lines=iter(sys.stdin), out=sys.stdout, pgn_path=pgn)
    return 0
