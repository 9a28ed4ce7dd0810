"""``alphazero solve connect4``: exact Connect Four scores of positions read one per line."""

from __future__ import annotations

import argparse
import sys

from alphazero.cli.common import EXIT_BAD_INPUT, open_input, write_json


def register(sub) -> None:
    p = sub.add_parser("solve", help="exact Connect Four scores of positions (Pons convention)")
    p.add_argument("game", choices=["connect4"])
    p.add_argument("--input", help="file of positions (default: stdin)")
    p.set_defaults(func=cmd_solve)



def cmd_solve(args: argparse.Namespace) -> int:
    from games.base import GameError
    from games.connect4_solver import Connect4Solver

    solver = Connect4Solver()
    failed = False
    for raw in open_input(args.input):
        text = raw.rstrip("\r\n").strip()
        try:
            move_scores = solver.analyse(text)
            score = solver.solve(text)
        except GameError as err:
            failed = True
            write_json({"position": text, "error": str(err)}, sys.stdout)
            continue
        write_json({"position": text, "score": score,
                     "move_scores": {str(c): s for c, s in sorted(move_scores.items())}},
                    sys.stdout)
    return EXIT_BAD_INPUT if failed else 0
