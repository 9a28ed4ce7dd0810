"""What every subcommand shares: the one-line error type, exit codes, input and output helpers,
and the engine flags (defined once here, added by each command that searches)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import TextIO

from search import ARMS

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A problem with the command line or its files, reported in one line."""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def open_input(path: str | None) -> Iterable[str]:
    if path is None or path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None


def write_json(obj: dict, out: TextIO) -> None:
    out.write(json.dumps(obj) + "\n")
    out.flush()


def add_engine_flags(p: argparse.ArgumentParser, *, sims_help: str | None,
                     config_default: str | None = None) -> None:
    """The flags of every command that searches with a network, defined once: --checkpoint,
    --sims and --search (unless ``sims_help`` is None), --config, --set and --threads."""
    p.add_argument("--checkpoint", help="network checkpoint (default: the shipped one, if any)")
    if sims_help is not None:
        p.add_argument("--sims", type=int, help=sims_help)
        p.add_argument("--search", choices=list(ARMS), help="search arm (default: config's)")
    p.add_argument("--config", default=config_default,
                   help="config name or file (default: the game's shipped config)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set search.c_init=2.0")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
