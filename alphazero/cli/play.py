"""``alphazero play GAME``: play against the engine in the terminal."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys

from alphazero.cli.common import add_engine_flags
from games import GAME_NAMES, capabilities

COLORS = {"first": 0, "white": 0, "x": 0, "second": 1, "black": 1, "o": 1}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "play", help="play a game against the engine in the terminal",
        description="Moves: chess in SAN (Nf3, O-O, e8=Q) or UCI (g1f3); Connect Four a column "
        "1-7; tic-tac-toe a cell 1-9. Commands: undo, hint, eval, help, quit.")
    p.add_argument("game", choices=GAME_NAMES)
    add_engine_flags(p, sims_help="simulations per engine move (default: config's)")
    p.add_argument("--color", default="first", type=str.lower, choices=sorted(COLORS),
                   help="your side: first/white/x or second/black/o (default first)")
    p.add_argument("--pgn", help="where to save a chess game (default runs/play/<time>.pgn)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_play)


def learned_weights_for(game, params):
    """Weights of the learned search arm (``nets.loader.resolve_learned``); one-line
    errors (CheckpointError / UsageError) while there are none."""
    from alphazero.cli.common import UsageError

    try:
        from nets.loader import resolve_learned
    except ImportError:
        raise UsageError("the learned search arm has no trained weights yet; use --search "
                         "puct or --search gumbel") from None
    return resolve_learned(game, params)


def build_engine(game_name: str, *, checkpoint: str | None, sims: int | None,
                 search_arm: str | None, config_name: str | None, overrides: list[str],
                 threads: int = 1, seed: int = 0):
    """(SearchEngine, search params, sentence saying which network) for play and UCI."""
    from alphazero.cli.common import UsageError
    from alphazero.config import load_config
    from nets.loader import resolve_evaluate
    from alphazero.play.engine import SearchEngine
    from games import get_game

    config = load_config(config_name or game_name, overrides)
    if config.game != game_name:
        raise UsageError(f"config {config_name} is for {config.game}, not {game_name}")
    params = config.search
    if search_arm is not None:
        params = dataclasses.replace(params, arm=search_arm)
    if sims is not None:
        if sims < 1:
            raise UsageError("--sims must be >= 1")
        params = dataclasses.replace(params, simulations=sims)
    game = get_game(game_name)
    learned = learned_weights_for(game, params) if params.arm == "learned" else None
    # numpy when the checkpoint allows (no torch import: play starts ~2 s sooner), else torch
    evaluate, source = resolve_evaluate(game, config.network, checkpoint, num_threads=threads)
    engine = SearchEngine(game, evaluate, params, seed=seed, learned=learned)
    return engine, engine.params, source


def cmd_play(args: argparse.Namespace) -> int:
    from alphazero.play.terminal import play_session

    engine, params, source = build_engine(
        args.game, checkpoint=args.checkpoint, sims=args.sims, search_arm=args.search,
        config_name=args.config, overrides=args.set, threads=args.threads, seed=args.seed)
    print(f"play {args.game}: {source}; {params.arm} search, {params.simulations} simulations "
          f"a move", file=sys.stderr, flush=True)
    pgn = args.pgn
    if pgn is None and capabilities(engine.game).pgn:
        pgn = f"runs/play/{engine.game.name}-{datetime.datetime.now():%Y%m%d-%H%M%S}.pgn"
    play_session(engine.game, engine, human=COLORS[args.color], simulations=params.simulations,
                 lines=iter(sys.stdin), out=sys.stdout, pgn_path=pgn)
    return 0
