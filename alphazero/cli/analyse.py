"""``alphazero analyse GAME``: search positions read one per line, one JSON line out each."""

from __future__ import annotations

import argparse
import sys

from alphazero.cli.common import (
    EXIT_BAD_INPUT,
    UsageError,
    add_engine_flags,
    check_simulations,
    check_threads,
    open_input,
    say,
    write_json,
)
from games import GAME_NAMES


def register(sub) -> None:
    p = sub.add_parser("analyse", aliases=["analyze"],
                       help="search positions read one per line; one JSON line out per position",
                       description="Positions: Connect Four as column digits 1-7 from the empty "
                       "board ('4453'), tic-tac-toe as cells 1-9, chess as a FEN or 'startpos "
                       "moves e2e4 ...'. An empty line is the start position (not for chess).")
    p.add_argument("game", choices=GAME_NAMES, help="the game of the positions")
    add_engine_flags(p, sims_help="simulations per position (0: network policy alone)")
    p.add_argument("--input", help="file of positions (default: stdin)")
    p.add_argument("--batch", type=int, default=256, help="positions searched together")
    p.set_defaults(func=cmd_analyse)


def cmd_analyse(args: argparse.Namespace) -> int:
    from alphazero.config import load_config
    from alphazero.play.analyse import analyse_lines
    from alphazero.searcher import search_setup
    from games import get_game

    config = load_config(args.config or args.game, args.set)
    if config.game != args.game:
        raise UsageError(f"config {args.config} is for {config.game}, not {args.game}")
    check_simulations(args.sims)
    check_threads(args.threads)
    if args.batch < 1:
        raise UsageError(f"--batch must be >= 1, not {args.batch}")
    lines = open_input(args.input)  # a missing file or a directory: before the network loads
    game = get_game(args.game)
    setup = search_setup(game, config.network, config.search, checkpoint=args.checkpoint,
                         arm=args.search, simulations=args.sims,
                         backend=args.backend or config.backend,
                         num_threads=args.threads)
    params = setup.params
    say(f"analyse {game.name}: {setup.source}; {params.arm} search, {params.simulations} "
        "simulations")
    failed = False
    for record in analyse_lines(game, lines, setup.evaluate, params,
                                chunk_size=args.batch, learned=setup.learned):
        failed |= "error" in record
        write_json(record, sys.stdout)
    return EXIT_BAD_INPUT if failed else 0
