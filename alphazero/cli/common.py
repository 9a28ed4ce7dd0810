"""What every subcommand shares: the one-line error type, exit codes, input and output helpers,
and the engine flags (defined once here, added by each command that searches)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from alphazero.config import field_docs
from nets.backends import BACKENDS
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


def plural(count: int, word: str) -> str:
    """"1 draw", "2 draws", "0 losses": a count and its noun."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word}es" if word.endswith(("s", "x", "ch", "sh")) else f"{count} {word}s"


def write_json(obj: dict, out: TextIO) -> None:
    out.write(json.dumps(obj) + "\n")
    out.flush()


def add_engine_flags(p: argparse.ArgumentParser, *, sims_help: str | None,
                     config_default: str | None = None) -> None:
    """The flags of every command that searches with a network, defined once: --checkpoint,
    --sims and --search (unless ``sims_help`` is None), --config, --set, --threads and
    --backend."""
    p.add_argument("--checkpoint", help="network checkpoint (default: the shipped one, if any)")
    if sims_help is not None:
        p.add_argument("--sims", type=int, help=sims_help)
        p.add_argument("--search", choices=list(ARMS), help="search arm (default: config's)")
    p.add_argument("--config", default=config_default,
                   help="config name or file (default: the game's shipped config)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set search.c_init=2.0")
    p.add_argument("--threads", type=int, default=1,
                   help="threads of the network backend (default 1)")
    p.add_argument("--backend", choices=list(BACKENDS),
                   help="what runs the network: onnx (ONNX Runtime), onnx-int8 (int8 "
                   "convolutions, ~2.5x faster, measured per game), numpy or torch; auto is "
                   "onnx when installed, else numpy and torch (default: the config's backend: "
                   "onnx-int8 for connect4, auto for the others)")


def add_field_flag(p: argparse.ArgumentParser, flag: str, cls: type, field: str, *,
                   help: str | None = None, as_text: Callable[[Any], str] | None = None,
                   **kwargs: Any) -> None:
    """A flag whose default is the dataclass ``cls``'s ``field`` (so the command and the
    library cannot disagree), its help the field's docstring unless ``help`` is given.
    ``as_text``: how a default that is not what the flag parses (a tuple) is written."""
    default = {f.name: f for f in dataclasses.fields(cls)}[field].default
    if as_text is not None:
        default = as_text(default)
    text = help or field_docs(cls)[field]
    text = (text[:1].lower() + text[1:]).rstrip(".").replace("%", "%%")
    shown = "none" if default is None else default
    p.add_argument(flag, default=default, help=f"{text} (default {shown})", **kwargs)
