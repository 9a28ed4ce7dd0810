"""The ``alphazero`` command: one console script, a subcommand per job.

Each subcommand parses its arguments, loads the config, and calls a library function; errors a
person can fix (bad config, missing or corrupt checkpoint, bad arguments) end with one clear
line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import TextIO

# numpy's BLAS (OpenBLAS) starts a thread per core by default. The numpy network of analyse
# multiplies small matrices, and on a shared 2-core machine two spinning BLAS threads made it
# 10-30x slower than one (torch keeps its own thread count). Must be set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from games import GAME_NAMES  # imports numpy: after the line above

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2

# Modules that add a subcommand: each defines ``register(subparsers)``, which adds its parser
# with ``set_defaults(func=...)``; ``func(args) -> int`` imports what it needs lazily.
_COMMAND_MODULES: tuple[str, ...] = (
    "alphazero.cli_pretrain",
    "alphazero.train_command",
    "alphazero.cli_play",
    "alphazero.cli_uci",
    "alphazero.cli_match",
    "alphazero.cli_search",
    "alphazero.cli_ablate",
)


class UsageError(Exception):
    """A problem with the command line or its files, reported in one line."""


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _open_input(path: str | None) -> Iterable[str]:
    if path is None or path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None


def _write_json(obj: dict, out: TextIO) -> None:
    out.write(json.dumps(obj) + "\n")
    out.flush()


# --------------------------------------------------------------------------- analyse
def cmd_analyse(args: argparse.Namespace) -> int:
    from alphazero.analysis import analyse_lines
    from alphazero.config import load_config
    from alphazero.models import resolve_evaluate, resolve_learned
    from games import get_game

    config = load_config(args.config or args.game, args.set)
    if config.game != args.game:
        raise UsageError(f"config {args.config} is for {config.game}, not {args.game}")
    game = get_game(args.game)
    params = config.search
    if args.search is not None:
        params = dataclasses.replace(params, arm=args.search)
    if args.sims is not None:
        if args.sims < 0:
            raise UsageError("--sims must be >= 0")
        params = dataclasses.replace(params, simulations=args.sims)
    evaluate, source = resolve_evaluate(game, config.network, args.checkpoint,
                                        backend=args.backend, num_threads=args.threads)
    learned = resolve_learned(game, params)
    _say(f"analyse {game.name}: {source}; {params.arm} search, {params.simulations} simulations")
    failed = False
    for record in analyse_lines(game, _open_input(args.input), evaluate, params,
                                chunk_size=args.batch, learned=learned):
        failed |= "error" in record
        _write_json(record, sys.stdout)
    return EXIT_BAD_INPUT if failed else 0


# ----------------------------------------------------------------------------- solve
def cmd_solve(args: argparse.Namespace) -> int:
    from games.base import GameError
    from games.connect4_solver import Connect4Solver

    solver = Connect4Solver()
    failed = False
    for raw in _open_input(args.input):
        text = raw.rstrip("\r\n").strip()
        try:
            move_scores = solver.analyse(text)
            score = solver.solve(text)
        except GameError as err:
            failed = True
            _write_json({"position": text, "error": str(err)}, sys.stdout)
            continue
        _write_json({"position": text, "score": score,
                     "move_scores": {str(c): s for c, s in sorted(move_scores.items())}},
                    sys.stdout)
    return EXIT_BAD_INPUT if failed else 0


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alphazero", description="AlphaZero-style training and play with a learnable search.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("analyse", aliases=["analyze"],
                       help="search positions read one per line; one JSON line out per position",
                       description="Positions: Connect Four as column digits 1-7 from the empty "
                       "board ('4453'), tic-tac-toe as cells 1-9, chess as a FEN or 'startpos "
                       "moves e2e4 ...'. An empty line is the start position (not for chess).")
    p.add_argument("game", choices=GAME_NAMES)
    p.add_argument("--checkpoint", help="network checkpoint (default: the shipped one, if any)")
    p.add_argument("--sims", type=int, help="simulations per position (0: network policy alone)")
    p.add_argument("--search", choices=["puct", "gumbel", "learned"],
                   help="search arm (default: config's)")
    p.add_argument("--input", help="file of positions (default: stdin)")
    p.add_argument("--config", help="config file (default: configs/GAME.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set search.c_init=2.0")
    p.add_argument("--batch", type=int, default=256, help="positions searched together")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--backend", choices=["auto", "numpy", "torch"], default="auto",
                   help="what runs the network: numpy starts ~2 s sooner (no torch import); "
                   "auto uses it when it can read the checkpoint, else torch (default auto)")
    p.set_defaults(func=cmd_analyse)

    p = sub.add_parser("solve", help="exact Connect Four scores of positions (Pons convention)")
    p.add_argument("game", choices=["connect4"])
    p.add_argument("--input", help="file of positions (default: stdin)")
    p.set_defaults(func=cmd_solve)

    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from alphazero.checkpoint import CheckpointError
    from alphazero.config import ConfigError

    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (UsageError, ConfigError, CheckpointError) as err:
        _say(f"alphazero {args.command}: error: {err}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
