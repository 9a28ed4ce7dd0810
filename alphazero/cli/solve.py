"""``alphazero solve connect4``: exact Connect Four scores of positions read one per line."""

from __future__ import annotations

import argparse
import sys

from alphazero.cli.common import EXIT_BAD_INPUT, open_input, write_json


def register(sub) -> None:
    p = sub.add_parser("solve", help="exact Connect Four scores of positions (Pons convention)",
                       description="Reads Connect Four positions one per line (column digits "
                       "1-7 from the empty board, e.g. 4453; an empty line is the empty board) "
                       "and writes one JSON line each: the exact score of the position and of "
                       "every legal move for the side to move. A score is 0 for a draw, 22 "
                       "minus the winner's stones at the win for a win (quicker wins score "
                       "more), negative for a loss. Positions with few stones can take minutes.")
    p.add_argument("game", choices=["connect4"], help="the game (only connect4 has a solver)")
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
