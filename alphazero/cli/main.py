"""The ``alphazero`` command: one console script, a subcommand per job.

Each subcommand lives in its own module of this package, which parses its arguments
(``register``) and calls library functions (``cmd_*``). Errors a person can fix (bad config,
missing or corrupt checkpoint, bad arguments) end with one clear line on stderr and exit
status 2, never a traceback. The command modules import what their work needs inside
``cmd_*``: torch and Ray take seconds to import, and ``analyse``, ``play`` and ``uci`` must
start without them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import alphazero
from alphazero.cli import (
    ablate,
    analyse,
    match,
    play,
    pretrain,
    solve,
    train,
    train_search,
    uci,
)
from alphazero.cli.common import EXIT_USAGE, UsageError, say
from alphazero.config import ConfigError
from nets.checkpoint import CheckpointError

COMMANDS = (analyse, solve, pretrain, train, play, uci, match, train_search, ablate)
"""The modules that each add one subcommand with ``register(subparsers)``."""


class _Version(argparse.Action):
    """``--version``: looked up only when asked (reading package metadata costs start-up)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"alphazero {alphazero.__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alphazero", description="AlphaZero-style training and play with a learnable search.",
        epilog="Run 'alphazero COMMAND --help' for a command's own flags.")
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show the installed version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # `alphazero` alone: what it can do, not a bare usage error
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (UsageError, ConfigError, CheckpointError) as err:
        say(f"alphazero {args.command}: error: {err}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
