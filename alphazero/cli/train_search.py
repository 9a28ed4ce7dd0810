"""``alphazero train-search``: train the learned search against the solver (or 8x search)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from alphazero.cli.common import UsageError, add_field_flag, writable_dir, writable_file
from alphazero.config import METHODS, TrainSearchConfig
from nets.backends import BACKENDS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-search", help="train the learned search rule on a fixed network",
        description="Trains the learned selection and readout of the search for a network "
        "checkpoint. The signal is the cost of the search's final move: against the solver "
        "(connect4, tictactoe) or against the same network searching with 8x the budget "
        "(chess: on positions of the network's own play, never the evaluation sets). "
        "--backup-iterations also trains the learned backup (how a leaf's value is mixed "
        "with each ancestor's best child), by evolution strategies on the same cost.")
    p.add_argument("config", help="config file or game name (alphazero/configs/GAME.yaml)")
    p.add_argument("--checkpoint", required=True, help="the network the search is trained for")
    p.add_argument("--out", help="where to write the weights (default: RUN_DIR/search.pt)")
    p.add_argument("--run-dir", help="TensorBoard logs and weights (default runs/...)")
    add_field_flag(p, "--iterations", TrainSearchConfig, "iterations", type=int)
    add_field_flag(p, "--budgets", TrainSearchConfig, "budgets",
                   as_text=lambda budgets: ",".join(map(str, budgets)),
                   help="comma-separated simulation budgets to train over")
    add_field_flag(p, "--positions", TrainSearchConfig, "positions", type=int,
                   help="training positions (Connect Four: solver-labelled, seed 1)")
    add_field_flag(p, "--batch", TrainSearchConfig, "positions_per_batch", type=int,
                   help="decisions per iteration")
    p.add_argument("--teacher", choices=["auto", "solver", "search"], default="auto",
                   help="cost of a move: solver labels, or the network with 8x the budget")
    p.add_argument("--positions-from", choices=["auto", "random", "own-play"], default="auto",
                   help="search teacher's positions: random playouts, or the network's own "
                   "play (moves sampled from its policy); auto: own-play for chess")
    p.add_argument("--held-out", type=int,
                   help="positions of the before/after table (default: min(500, --positions))")
    p.add_argument("--backend", choices=list(BACKENDS), default="auto",
                   help="what runs the network (nets.backends; default auto)")
    add_field_flag(p, "--method", TrainSearchConfig, "method", choices=list(METHODS))
    add_field_flag(p, "--decisions-per-simulation", TrainSearchConfig,
                   "decisions_per_simulation", type=int)
    add_field_flag(p, "--seed", TrainSearchConfig, "seed", type=int)
    add_field_flag(p, "--backup-iterations", TrainSearchConfig, "backup_iterations", type=int)
    add_field_flag(p, "--backup-pairs", TrainSearchConfig, "backup_pairs", type=int)
    add_field_flag(p, "--backup-sigma", TrainSearchConfig, "backup_sigma", type=float)
    add_field_flag(p, "--backup-lr", TrainSearchConfig, "backup_lr", type=float)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of the game config, e.g. --set search.c_init=2.0")
    p.set_defaults(func=cmd_train_search)


def _budgets(text: str) -> tuple[int, ...]:
    try:
        budgets = tuple(int(b) for b in text.split(","))
    except ValueError:
        raise UsageError(f"--budgets must be comma-separated integers, not {text!r}") from None
    if not budgets or min(budgets) < 1:
        raise UsageError("--budgets must be positive")
    return budgets


def training_positions(game, evaluate, params, count: int, teacher: str, budgets, seed: int,
                       *, source: str = "random", exclude=None):
    """(states, costs float[P, A]) for training: solver labels or an 8x-budget teacher.

    With the search teacher the positions are random playouts (``source`` random) or the
    network's own play (own-play, ``alphazero.learned.positions``); ``exclude(state)`` drops
    a position (own play: the evaluation sets, and the training positions for the held-out
    table)."""
    import numpy as np

    from alphazero.eval.labelled import labelled_positions
    from alphazero.learned.positions import own_play_positions
    from alphazero.learned.training import solver_costs, teacher_costs

    if teacher == "solver":
        positions = labelled_positions(game, count, seed=seed + 1)  # seed 0: evaluation
        states = [p.state() for p in positions]
        return states, np.stack([solver_costs(p.scores, game.num_actions) for p in positions])
    if source == "own-play":
        states = own_play_positions(game, evaluate, count, seed=seed + 1, exclude=exclude)
    else:
        rng = np.random.default_rng(seed + 1)
        states = []
        while len(states) < count:
            state = game.initial_state()
            for _ in range(int(rng.integers(2, 30))):
                legal = np.flatnonzero(game.legal_mask(state))
                if legal.size == 0:
                    break
                state = game.apply(state, int(rng.choice(legal)))
            if not game.is_terminal(state):
                states.append(state)
    costs, _ = teacher_costs(game, evaluate, params, states, max(budgets), seed=seed)
    return states, costs


def _chess_exclusion():
    """exclude(board) for chess training: True for a position of the evaluation sets."""
    from alphazero.eval.chess_oracle import evaluation_keys, position_key

    keys = evaluation_keys()
    return lambda board: position_key(board) in keys


def cmd_train_search(args: argparse.Namespace) -> int:
    import numpy as np
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    from alphazero.config import load_config
    from alphazero.learned.positions import state_key
    from alphazero.learned.training import search_cost, train_learned_search
    from games import get_game
    from nets.loader import file_sha256, resolve_evaluate, shipped_checkpoint

    config = load_config(args.config, args.set)
    game = get_game(config.game)
    if game.name == "chess" and args.teacher == "solver":
        raise UsageError("chess has no solver: use --teacher search (the default)")
    budgets = _budgets(args.budgets)
    try:  # every bound of the training settings, before any work
        cfg = TrainSearchConfig(method=args.method, budgets=budgets, positions=args.positions,
                                positions_per_batch=args.batch, iterations=args.iterations,
                                decisions_per_simulation=args.decisions_per_simulation,
                                seed=args.seed, backup_iterations=args.backup_iterations,
                                backup_pairs=args.backup_pairs, backup_sigma=args.backup_sigma,
                                backup_lr=args.backup_lr)
    except ValueError as err:
        raise UsageError(str(err)) from None
    teacher = args.teacher
    if teacher == "auto":
        teacher = "solver" if game.name in ("connect4", "tictactoe") else "search"
    source = args.positions_from
    if source == "auto":
        source = "own-play" if game.name == "chess" else "random"
    held_count = min(500, args.positions) if args.held_out is None else args.held_out
    if held_count < 1:
        raise UsageError("--held-out must be >= 1")
    evaluate, _ = resolve_evaluate(game, config.network, args.checkpoint, backend=args.backend)
    run_dir = writable_dir(args.run_dir or f"runs/{game.name}-search-"
                           f"{time.strftime('%Y%m%d-%H%M%S')}", "--run-dir")
    out = writable_file(args.out, "--out") if args.out else run_dir / "search.pt"
    print(f"train-search {game.name}: network {args.checkpoint}, teacher {teacher}, method "
          f"{args.method}, budgets {budgets}, positions from "
          f"{source if teacher == 'search' else 'solver'}, run dir {run_dir}", flush=True)
    started = time.process_time()
    banned = _chess_exclusion() if game.name == "chess" else None
    states, costs = training_positions(game, evaluate, config.search, args.positions, teacher,
                                       budgets, args.seed, source=source, exclude=banned)
    seen = {state_key(game, s) for s in states}

    def known(state) -> bool:  # the held-out table's positions: not trained on either
        return state_key(game, state) in seen or (banned is not None and banned(state))

    held_states, held_costs = training_positions(game, evaluate, config.search, held_count,
                                                 teacher, budgets, args.seed + 100,
                                                 source=source, exclude=known)
    label_seconds = time.process_time() - started
    writer = SummaryWriter(str(run_dir))
    bar = tqdm(total=cfg.iterations + cfg.backup_iterations, desc="train-search", unit="it")

    def log(it: int, stats: dict) -> None:
        for key, value in stats.items():
            if np.isfinite(value):
                writer.add_scalar(key, value, it)
        bar.update(1)
        bar.set_postfix(cost=f"{stats['charts/search_cost']:.3f}", budget=stats["charts/budget"])

    before = {b: search_cost(game, evaluate, config.search, None, held_states, held_costs, b)
              for b in budgets}
    started = time.process_time()
    learned = train_learned_search(game, evaluate, config.search, states, costs, cfg, log=log)
    if cfg.backup_iterations:
        from alphazero.learned.backup import train_backup

        def log_backup(it: int, stats: dict) -> None:
            log(cfg.iterations + it, stats)

        learned = train_backup(game, evaluate, config.search, states, costs, cfg,
                               learned=learned, log=log_backup)
    train_seconds = time.process_time() - started
    bar.close()
    learned.meta.update({"game": game.name, "network": str(args.checkpoint),
                         "network_sha256": file_sha256(
                             args.checkpoint if Path(args.checkpoint).is_file()
                             else shipped_checkpoint(game.name)),
                         "budgets": list(budgets), "teacher": teacher,
                         "method": args.method, "iterations": args.iterations,
                         "backup_iterations": cfg.backup_iterations,
                         "positions": len(states),
                         "positions_from": ("solver labels" if teacher == "solver" else
                                            source.replace("-", " ")),
                         "cpu_seconds_labels": round(label_seconds, 1),
                         "cpu_seconds_training": round(train_seconds, 1)})
    learned.save(out)
    weights = learned.weights()
    meaning = ("0 = keeps the game-theoretic value" if teacher == "solver" else
               "1 - visits over the teacher's most visited move's")
    print(f"\nheld-out cost of the chosen move ({len(held_states)} positions; {meaning}):\n"
          f"| budget | PUCT | learned |\n|---|---|---|")
    for b in budgets:
        after = search_cost(game, evaluate, config.search, weights, held_states, held_costs, b)
        writer.add_scalar("eval/cost_puct", before[b], b)
        writer.add_scalar("eval/cost_learned", after, b)
        print(f"| {b} | {before[b]:.3f} | {after:.3f} |")
    writer.close()
    if learned.backup is not None:
        print("learned backup weights (bias, log visits, visited share, best - mean): "
              + ", ".join(f"{w:+.3f}" for w in learned.backup))
        signal = learned.meta.get("backup_signal") or {}
        if signal.get("mean_agreement") is not None:
            z = signal["z"]
            print(f"ES signal: the pairs' agreement {signal['mean_agreement']:+.3f} on average "
                  f"over {signal['steps']} steps (z = {'n/a' if z is None else f'{z:.1f}'}; "
                  f"0 when the cost differences are noise and the weights only drift, 0.17 "
                  f"for a cost linear in them), {100 * signal['tied_pairs']:.0f}% of pairs "
                  f"tied")
    print(f"CPU time: {label_seconds:.0f} s making and labelling positions, "
          f"{train_seconds:.0f} s training")
    print(f"weights written to {out}; use them with --set search.arm=learned "
          f"--set search.learned_weights={out}")
    return 0
