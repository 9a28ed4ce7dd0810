"""``alphazero train``: parse the command line, resolve the config and run directory, train."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from pathlib import Path

from alphazero.cli.common import UsageError, say, writable_dir


class _TqdmHandler(logging.Handler):
    """Log lines that do not break the progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        tqdm.write(self.format(record), file=sys.stderr)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a network by self-play (Ray workers, learner, evaluation ladder)",
        description="Self-play training. CONFIG is a YAML file or a game name meaning "
        "alphazero/configs/<game>.yaml. Writes the resolved config, checkpoints, TensorBoard "
        "logs and a summary to the run directory (default runs/<game>-<timestamp>).",
    )
    p.add_argument(
        "config",
        nargs="?",
        metavar="CONFIG",
        help="config file or game name (optional with --resume)",
    )
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last readable checkpoint, "
        "with its saved config.yaml (plus any --set)",
    )
    p.add_argument(
        "--address",
        metavar="RAY_ADDRESS",
        help="join this Ray cluster (default: start a local Ray instance)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set train.steps=200",
    )
    p.add_argument("--run-dir", metavar="DIR", help="run directory for a new run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)


def resolve_run(args: argparse.Namespace):
    """(config, run directory, resume?) from the command line; UsageError if inconsistent."""
    from alphazero.config import load_config
    from alphazero.train import rundir

    if args.resume:
        if args.run_dir:
            raise UsageError("--run-dir and --resume both name a run directory: give one")
        run_dir = Path(args.resume)
        if not (run_dir / "config.yaml").is_file():
            raise UsageError(f"{run_dir} is not a run directory (no config.yaml)")
        writable_dir(run_dir, "--resume")
        config = rundir.read_config(run_dir, args.set)
        if args.config and load_config(args.config).game != config.game:
            raise UsageError(f"{run_dir} is a {config.game} run, not {args.config}")
        return config, run_dir, True
    if not args.config:
        raise UsageError("give a CONFIG (a file or a game name) or --resume RUN_DIR")
    config = load_config(args.config, args.set)
    run_dir = writable_dir(args.run_dir or rundir.new_run_dir(config.game), "--run-dir")
    if rundir.list_checkpoints(run_dir):
        raise UsageError(
            f"{run_dir} already holds checkpoints: continue it with --resume {run_dir}"
        )
    return config, run_dir, False


def choose_ray_auth(address: str | None) -> None:
    """Ask for Ray's token authentication explicitly when ``train`` starts a local instance.

    Ray 2.59 and later turn token authentication on by default for a new local instance and
    warn at every start that they did ("Token authentication is enabled for this Ray
    cluster. Set RAY_AUTH_MODE=disabled to opt out"). Asking for it keeps that behaviour, the
    safe one (Ray makes a random token once, in ~/.ray/auth_token, and every process of the
    instance must present it), without the warning; older Ray versions that support tokens
    start with them too. Ray reads RAY_AUTH_MODE once, when it is imported, so this must run
    before the first ``import ray``: a process that has already imported Ray, a mode the user
    set, and a cluster joined with ``--address`` (whose own mode decides) are left alone.
    """
    if address is None and "ray" not in sys.modules:
        os.environ.setdefault("RAY_AUTH_MODE", "token")


RAY_ADDRESS_WORDS = ("auto", "local")
"""``--address`` values Ray resolves itself (the cluster this machine last started; a new
local instance), which are not probed."""
PROBE_SECONDS = 5.0
# The client's HTTP/2 connection preface and an empty SETTINGS frame (RFC 9113, 3.4 and 6.5).
_HTTP2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def check_address(address: str | None) -> None:
    """UsageError for a ``--address`` that is not HOST:PORT (or ray://HOST:PORT, auto, local),
    where nothing accepts a connection, or where what does is not a Ray cluster, found in at
    most 2 x PROBE_SECONDS before Ray starts: Ray itself retries for about a minute, logging
    some twenty lines, then raises (for a server that is not Ray: for minutes, or for ever)."""
    if address is None or address in RAY_ADDRESS_WORDS:
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")  # an IPv6 literal
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--address {address!r} is not HOST:PORT (e.g. 10.0.0.5:6379), "
                         "ray://HOST:PORT or auto")
    try:
        sock = socket.create_connection((host, int(port)), timeout=PROBE_SECONDS)
    except OSError as err:
        reason = err.strerror or str(err) or type(err).__name__
        raise UsageError(f"--address {address}: no Ray cluster answers there "
                         f"({reason})") from None
    with sock:
        try:
            speaks = _speaks_http2(sock)
        except OSError:  # no answer in time, or the connection reset
            speaks = False
    if not speaks:
        raise UsageError(f"--address {address}: something listens there, but it is not a Ray "
                         f"cluster (no gRPC answer in {PROBE_SECONDS:g} s)")


def _speaks_http2(sock: socket.socket) -> bool:
    """Whether the server answers an HTTP/2 preface with its SETTINGS frame, as the gRPC
    servers of Ray (its GCS and its client server) do; True without asking under TLS
    (RAY_USE_TLS), where the first bytes are a TLS handshake."""
    if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        return True
    sock.sendall(_HTTP2_HELLO)
    header = b""
    while len(header) < 9:  # a frame header: length[3] type[1] flags[1] stream[4]
        chunk = sock.recv(9 - len(header))
        if not chunk:  # closed on us
            return False
        header += chunk
    return header[3] == 0x04 and header[5:] == bytes(4)  # SETTINGS, on stream 0


def cmd_train(args: argparse.Namespace) -> int:
    check_address(args.address)
    config, run_dir, resume = resolve_run(args)
    choose_ray_auth(args.address)
    handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    from alphazero.train.driver import train
    from alphazero.train.supervise import TrainingError

    try:
        result = train(config, run_dir=run_dir, resume=resume, address=args.address,
                       progress=not args.no_progress)
    except TrainingError as err:  # the run cannot go on: one line, not a traceback
        say(f"alphazero train: error: {err}")
        return 1
    except ConnectionError as err:  # a cluster that answered the probe, then not Ray
        say(f"alphazero train: error: cannot join the Ray cluster at {args.address}: "
            f"{str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}")
        return 1
    print(result.summary(), flush=True)
    return 0
