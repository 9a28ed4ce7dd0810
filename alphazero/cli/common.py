"""What every subcommand shares: the one-line error type, exit codes, input and output helpers,
and the engine flags (defined once here, added by each command that searches)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from alphazero.config import field_docs
from nets.backends import BACKENDS
from search import ARMS
from search.params import MAX_SIMULATIONS

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A problem with the command line or its files, reported in one line."""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def open_input(path: str | None) -> Iterable[str]:
    """The lines of the file ``path`` (None or "-": stdin), decoded one by one as UTF-8: a line
    that is not UTF-8 comes as an `UndecodedLine`, whose ``error`` names its line and byte, so
    the commands answer it with an error record and go on (nothing before or after is lost)."""
    if path is None or path == "-":
        return _utf8_lines(getattr(sys.stdin, "buffer", sys.stdin), "stdin")
    if os.path.isdir(path):
        raise UsageError(f"cannot read {path}: it is a directory")
    try:
        return _utf8_lines(open(path, "rb"), path)
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None


class UndecodedLine(str):
    """A line that is not UTF-8: its text with the bad bytes replaced, and ``error``."""

    error: str


def _utf8_lines(stream, name: str) -> Iterator[str]:
    for number, raw in enumerate(stream, 1):
        if isinstance(raw, str):  # a text stream (tests give io.StringIO)
            yield raw
            continue
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as err:
            line = UndecodedLine(raw.decode("utf-8", errors="replace"))
            line.error = (f"{name} line {number} is not UTF-8 text (byte "
                          f"{err.object[err.start]:#04x})")
            yield line


def check_threads(threads: int | None, flag: str = "--threads") -> None:
    if threads is not None and threads < 1:
        raise UsageError(f"{flag} must be >= 1, not {threads}")


def check_simulations(sims: int | None, flag: str = "--sims", low: int = 0) -> None:
    """UsageError unless ``sims`` (None: not given) is in [low, MAX_SIMULATIONS]."""
    if sims is not None and not low <= sims <= MAX_SIMULATIONS:
        raise UsageError(f"{flag} must be in [{low}, {MAX_SIMULATIONS}], not {sims}")


def writable_dir(path: str | os.PathLike, flag: str, *, create: bool = True) -> Path:
    """``path`` as a directory that exists (made if need be) and takes files: checked before
    any work starts, so a bad ``--run-dir`` or ``--out`` costs nothing. With ``create=False``
    nothing is made: the nearest existing ancestor must take files (the work makes the rest)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path} is a file, not a directory")
    probe = path
    while not create and not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() and probe.exists():
        raise UsageError(f"{flag} {path}: {probe} is a file, not a directory")
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=probe).close()
    except OSError as err:
        raise UsageError(f"{flag} {path}: cannot write there: {err.strerror}") from None
    return path


def writable_file(path: str | os.PathLike, flag: str) -> Path:
    """``path`` checked to be a file that can be written (its directory made if need be),
    before the work whose result it will hold; the file itself is not created."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a directory, not a file")
    writable_dir(path.parent, f"{flag} {path}: directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{flag} {path}: cannot write there: permission denied")
    return path


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
