"""``alphazero uci``: a UCI chess engine on stdin/stdout."""

from __future__ import annotations

import argparse
import sys

from alphazero.cli.common import add_engine_flags, check_threads


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "uci", help="run as a UCI chess engine (for GUIs and python-chess)",
        description="Speaks UCI on stdin/stdout: uci, isready, ucinewgame, setoption, position, "
        "go (nodes, movetime, wtime/btime/winc/binc/movestogo, depth, mate, infinite, ponder, "
        "searchmoves), ponderhit, stop, quit. Options: Checkpoint, Simulations, Search, "
        "Threads, MoveOverhead, Ponder.")
    add_engine_flags(p, sims_help=None, config_default="chess")
    p.set_defaults(func=cmd_uci)


def cmd_uci(args: argparse.Namespace) -> int:
    from alphazero.uci.protocol import UCIEngine

    check_threads(args.threads)
    # A line that is not UTF-8 (whatever PYTHONIOENCODING says) reaches the protocol with
    # U+FFFD in place of its bad bytes: an unknown command or a bad move, answered like any
    # other, rather than a UnicodeDecodeError that ends the engine mid-game.
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")
    engine = UCIEngine(sys.stdout, checkpoint=args.checkpoint, config=args.config,
                       overrides=args.set, threads=args.threads, backend=args.backend)
    engine.run(iter(sys.stdin.readline, ""))
    return 0
