"""``alphazero uci``: a UCI chess engine on stdin/stdout."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "uci", help="run as a UCI chess engine (for GUIs and python-chess)",
        description="Speaks UCI on stdin/stdout: uci, isready, ucinewgame, setoption, position, "
        "go (nodes, movetime, wtime/btime/winc/binc/movestogo, depth, mate, infinite, ponder, "
        "searchmoves), ponderhit, stop, quit. Options: Checkpoint, Simulations, Search, "
        "Threads, MoveOverhead, Ponder.")
    p.add_argument("--checkpoint", help="network checkpoint (default: the shipped one, if any)")
    p.add_argument("--config", default="chess", help="config name or file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set search.c_init=2.0")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.set_defaults(func=cmd_uci)


def cmd_uci(args: argparse.Namespace) -> int:
    from alphazero.uci.protocol import UCIEngine

    engine = UCIEngine(sys.stdout, checkpoint=args.checkpoint, config=args.config,
                       overrides=args.set, threads=args.threads)
    engine.run(iter(sys.stdin.readline, ""))
    return 0
