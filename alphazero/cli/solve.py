"""``alphazero solve connect4``: exact Connect Four scores of positions read one per line."""

from __future__ import annotations

import argparse
import math
import sys
import time

from alphazero.cli.common import EXIT_BAD_INPUT, UsageError, open_input, write_json

SLICE_NODES = 10_000_000
"""Solver nodes between looks at the clock (about a second): the search stops at a slice's end
and the next slice goes on from the bounds the table kept."""


def register(sub) -> None:
    p = sub.add_parser("solve", help="exact Connect Four scores of positions (Pons convention)",
                       description="Reads Connect Four positions one per line (column digits "
                       "1-7 from the empty board, e.g. 4453; an empty line is the empty board) "
                       "and writes one JSON line each: the exact score of the position and of "
                       "every legal move for the side to move. A score is 0 for a draw, 22 "
                       "minus the winner's stones at the win for a win (quicker wins score "
                       "more), negative for a loss. Positions with few stones can take "
                       "minutes: each gets --max-seconds, then an error line saying so.")
    p.add_argument("game", choices=["connect4"], help="the game (only connect4 has a solver)")
    p.add_argument("--input", help="file of positions (default: stdin)")
    p.add_argument("--max-seconds", type=float, default=60.0,
                   help="time allowed per position; 0 for no limit (default 60)")
    p.set_defaults(func=cmd_solve)



def cmd_solve(args: argparse.Namespace) -> int:
    from games.base import GameError
    from games.connect4_solver import Connect4Solver

    if not (args.max_seconds >= 0 and math.isfinite(args.max_seconds)):
        raise UsageError("--max-seconds must be >= 0 (0: no limit)")
    solver = Connect4Solver()
    failed = False
    for raw in open_input(args.input):
        text = raw.rstrip("\r\n").strip()
        if getattr(raw, "error", None) is not None:  # not UTF-8 (open_input)
            failed = True
            write_json({"position": text, "error": raw.error}, sys.stdout)
            continue
        try:
            move_scores, nodes, seconds = analyse_in_time(solver, text, args.max_seconds)
        except GameError as err:
            failed = True
            write_json({"position": text, "error": str(err)}, sys.stdout)
            continue
        if move_scores is None:
            failed = True
            write_json({"position": text, "error": (
                f"not solved in {seconds:.0f} s ({nodes / 1e6:.0f} M nodes): positions with "
                f"few stones can take much longer; --max-seconds 0 removes the limit")},
                sys.stdout)
            continue
        scores = [v for v in move_scores.values() if v is not None]
        write_json({"position": text, "score": max(scores) if scores else 0,
                    "move_scores": {str(c): v for c, v in sorted(move_scores.items())}},
                   sys.stdout)
    return EXIT_BAD_INPUT if failed else 0


def analyse_in_time(solver, text: str, max_seconds: float):
    """(the solver's ``analyse`` of ``text`` or None if ``max_seconds`` ran out first, nodes
    searched, seconds taken). Searches in slices of SLICE_NODES; on a terminal, a line on
    stderr shows the work so far once a position takes more than a couple of seconds."""
    started, nodes = time.perf_counter(), 0
    shown = False
    try:
        while True:
            scores = solver.analyse(text, max_nodes=SLICE_NODES)
            nodes += solver.node_count
            elapsed = time.perf_counter() - started
            if scores is not None or (max_seconds > 0 and elapsed >= max_seconds):
                return scores, nodes, elapsed
            if elapsed > 2 and sys.stderr.isatty():
                limit = f" of {max_seconds:.0f}" if max_seconds > 0 else ""
                print(f"\rsolving {text or 'the empty board'}: {nodes / 1e6:,.0f} M nodes, "
                      f"{elapsed:.0f}{limit} s\x1b[K", end="", file=sys.stderr, flush=True)
                shown = True
    finally:
        if shown:
            print("\r\x1b[K", end="", file=sys.stderr, flush=True)
