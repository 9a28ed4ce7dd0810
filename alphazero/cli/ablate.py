"""``alphazero ablate CONFIG``: compare search arms (or run the boundary study)."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ablate", help="compare search arms on solver-labelled positions (chess: stored best "
        "moves) and head to head",
        description="Runs an ablation config (alphazero/configs/ablate_GAME.yaml): the network "
        "policy, "
        "PUCT, PUCT with c_init tuned per budget, Gumbel and the learned search's parts, at "
        "equal simulation budgets and wall time, for each checkpoint; or, with --study "
        "boundary, PUCT's accuracy from 1 to boundary.max_budget simulations per checkpoint. "
        "Writes results.csv, results.json, summary.md, figures and TensorBoard logs. On "
        "chess (alphazero/configs/ablate_chess.yaml) the arms are scored by stored best moves "
        "(held-out Stockfish positions and Win At Chess) against PUCT at N and 2N.")
    p.add_argument("config", help="ablation YAML, or a name: alphazero/configs/ablate_NAME.yaml")
    p.add_argument("--study", choices=["arms", "boundary"], default="arms",
                   help="arms: compare the search arms (default); boundary: PUCT accuracy "
                   "against the budget for each checkpoint")
    p.add_argument("--out", metavar="RUN_DIR",
                   help="run directory (default runs/ablate-GAME-TIMESTAMP)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 2 budgets, 64 positions, 2 openings, 3 training iterations")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set openings=0 --set evaluation_seed=3")
    p.add_argument("--report", action="store_true",
                   help="only rewrite summary.md and the figures from --out RUN_DIR's "
                   "results.json (say after a stopped run)")
    p.set_defaults(func=cmd_ablate)


def cmd_ablate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from alphazero.ablate import (
        boundary_budgets,
        boundary_checkpoints,
        load_ablation_config,
        report_from_results,
        run_ablation,
    )
    from alphazero.cli.common import writable_dir
    from alphazero.train.rundir import new_run_dir

    cfg = load_ablation_config(args.config, quick=args.quick, overrides=args.set)
    if args.report:
        if not args.out:
            print("alphazero ablate: --report needs --out RUN_DIR", file=sys.stderr)
            return 2
        try:
            paths = report_from_results(cfg, Path(args.out), study=args.study)
        except (FileNotFoundError, ValueError) as err:
            print(f"alphazero ablate: {err}", file=sys.stderr)
            return 2
        for path in paths:
            print(path)
        return 0
    # checked, not made: a study that fails on its checkpoints leaves no empty run directory
    out = writable_dir(args.out or new_run_dir(f"ablate-{cfg.game}"), "--out", create=False)
    if args.study == "arms":
        count, budgets = len(cfg.checkpoints), f"{list(cfg.budgets)}"
    else:
        count = len(boundary_checkpoints(cfg))
        budgets = f"1 to {boundary_budgets(cfg.boundary.max_budget)[-1]}"
    what = f"{count} checkpoint{'' if count == 1 else 's'}, budgets {budgets}"
    print(f"ablate {cfg.game} ({args.study}{', quick' if args.quick else ''}): {what}, run dir "
          f"{out}", file=sys.stderr, flush=True)
    paths = run_ablation(cfg, out, study=args.study,
                         log=lambda line: print(line, file=sys.stderr, flush=True))
    for path in paths:
        print(path)
    return 0
