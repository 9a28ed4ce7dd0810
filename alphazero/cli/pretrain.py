"""``alphazero pretrain chess --pgn FILE ...``: supervised training of the chess network."""

from __future__ import annotations

import argparse
import math
import sys

from alphazero.cli.common import UsageError, add_field_flag, check_threads, writable_file
from alphazero.config import PretrainOptions


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pretrain", help="train the chess network supervised from PGN games",
        description="Policy from the moves played, value from the results. Files are streamed "
        "through a shuffle buffer; a checkpoint is written every --checkpoint-every steps.")
    p.add_argument("game", choices=["chess"], help="the game (chess)")
    p.add_argument("--pgn", nargs="+", required=True, metavar="FILE", help="PGN files")
    p.add_argument("--out", default="runs/pretrain/chess.pt", help="checkpoint to write")
    add_field_flag(p, "--steps", PretrainOptions, "steps", type=int, help="optimizer steps")
    add_field_flag(p, "--minutes", PretrainOptions, "max_minutes", type=float,
                   help="wall-clock budget (stops and decays by it)")
    p.add_argument("--batch", type=int, help="batch size (default: config's train.batch_size)")
    add_field_flag(p, "--lr", PretrainOptions, "lr", type=float,
                   help="AdamW learning rate (cosine decay)")
    add_field_flag(p, "--checkpoint-every", PretrainOptions, "checkpoint_every", type=int)
    add_field_flag(p, "--buffer", PretrainOptions, "shuffle_buffer", type=int,
                   help="shuffle buffer (positions)")
    p.add_argument("--init", help="start from this checkpoint's weights")
    add_field_flag(p, "--holdout-every", PretrainOptions, "holdout_every", type=int,
                   metavar="N", help="hold out every Nth game to validate each checkpoint; the "
                   "best is also written as OUT with suffix .best.pt (0: none)")
    p.add_argument("--config", default="chess", help="config name or file (network section)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set network.blocks=4")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    add_field_flag(p, "--seed", PretrainOptions, "seed", type=int)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_pretrain)


def cmd_pretrain(args: argparse.Namespace) -> int:
    import torch

    from alphazero.config import load_config
    from alphazero.train.pretrain import PGNDataError, pretrain

    config = load_config(args.config, args.set)
    if config.game != "chess":
        raise UsageError(f"config {args.config} is for {config.game}, not chess")
    if args.steps < 1:
        raise UsageError("--steps must be >= 1")
    if args.holdout_every < 0:
        raise UsageError("--holdout-every must be >= 0")
    if args.minutes is not None and args.minutes <= 0:
        raise UsageError("--minutes must be > 0")
    check_threads(args.threads)
    for name in ("batch", "buffer", "checkpoint_every"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1, not {value}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr must be a finite number > 0, not {args.lr}")
    writable_file(args.out, "--out")  # before hours of training, not after
    torch.set_num_threads(args.threads)
    options = PretrainOptions(
        steps=args.steps, batch_size=args.batch or config.train.batch_size, lr=args.lr,
        weight_decay=config.train.weight_decay, value_loss_weight=config.train.value_loss_weight,
        shuffle_buffer=args.buffer, checkpoint_every=args.checkpoint_every,
        max_minutes=args.minutes, holdout_every=args.holdout_every, seed=args.seed)
    net = config.network
    start = (f"from {args.init} (its network)" if args.init else
             f"{net.blocks} blocks x {net.channels} channels")
    print(f"pretrain chess: {start}, batch {options.batch_size}, {options.steps} steps -> "
          f"{args.out}", file=sys.stderr, flush=True)
    try:
        report = pretrain(args.pgn, net, args.out, options, init=args.init,
                          progress=not args.no_progress,
                          log=lambda line: print(line, file=sys.stderr, flush=True))
    except PGNDataError as err:
        raise UsageError(str(err)) from None
    passes = report.game_reads / max(report.games_read, 1)
    print(f"pretrain chess: {report.steps} steps on {report.games_read} training games "
          f"(read {passes:.1f} times over), loss "
          f"{report.first_loss:.3f} -> {report.last_loss:.3f} (policy {report.policy_loss:.3f}, "
          f"value {report.value_loss:.3f}) in {report.seconds:.0f}s; wrote {args.out}",
          file=sys.stderr, flush=True)
    return 0
