"""Does the int8 network (``--backend onnx-int8``) play as well as the float one? Paired, held out.

    python benchmarks/bench_int8_accuracy.py                        # both games
    python benchmarks/bench_int8_accuracy.py --games connect4 --positions 2000

Connect Four: solver-labelled positions (``alphazero.eval.labelled``, seed ``--seed``, never
used for calibration, which runs on random playouts), the share of optimal moves of the policy
alone and of PUCT and Gumbel searches at ``--sims`` simulations, float32 ONNX Runtime against
its int8 form on the *same* positions. Chess: the Win At Chess suite (alphazero/eval/data/chess),
the share solved by the policy alone and by PUCT at ``--chess-sims``. Both: top-1 agreement of the
two networks and their mean |value difference|.

Each row gives the float and int8 shares, the paired difference with a 95% interval (normal
approximation over the per-position differences) and the positions where the two disagree.
"Within noise" means the interval contains 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import chess
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alphazero.config import load_config  # noqa: E402
from alphazero.eval import chess_oracle  # noqa: E402
from alphazero.eval.labelled import labelled_positions  # noqa: E402
from games import get_game  # noqa: E402
from games.chess import encode_move  # noqa: E402
from nets.backends import playout_observations  # noqa: E402
from nets.checkpoint import network_shape, read_checkpoint_arrays  # noqa: E402
from nets.loader import SHIPPED_DIR  # noqa: E402
from nets.onnx_net import OnnxPolicyValueNet, make_onnx_evaluate_fn  # noqa: E402
from search import BatchedMCTS  # noqa: E402

WAC = chess_oracle.WAC_FILE
STOCKFISH = chess_oracle.HELDOUT_FILE


def networks(game_name: str, calibration_seed: int):
    path = SHIPPED_DIR / f"{game_name}.pt"
    checkpoint = read_checkpoint_arrays(path)
    shape = network_shape(path, checkpoint, game_name)
    game = get_game(game_name)
    return {"float": OnnxPolicyValueNet(*shape, checkpoint["model"]),
            "int8": OnnxPolicyValueNet(*shape, checkpoint["model"],
                                       calibration=playout_observations(
                                           game, seed=calibration_seed))}


def searched_moves(game, evaluate, params, states, seed: int, batch: int = 64) -> list[int]:
    moves: list[int] = []
    for start in range(0, len(states), batch):
        part = states[start:start + batch]
        mcts = BatchedMCTS(game, evaluate, params, batch_size=len(part), seed=seed)
        mcts.set_roots(part)
        moves += [int(a) for a in mcts.run().action]
    return moves


def paired_row(label: str, hits: dict[str, np.ndarray]) -> str:
    """hits: per network, bool[positions] or bool[seeds, positions]; the interval is over
    positions (seeds of one position averaged first: they are not independent)."""
    a, b = (np.atleast_2d(hits[k]).astype(float).mean(axis=0) for k in ("float", "int8"))
    d = b - a
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
    return (f"| {label} | {len(d)} | {100 * a.mean():.1f}% | {100 * b.mean():.1f}% | "
            f"{100 * d.mean():+.1f} [{100 * (d.mean() - half):+.1f}, "
            f"{100 * (d.mean() + half):+.1f}] | {int((d != 0).sum())} |")


def agreement(nets, observations, masks) -> str:
    (fl, fv), (il, iv) = (nets[k].forward(observations, masks) for k in ("float", "int8"))
    return (f"top-1 agreement {100 * (fl.argmax(1) == il.argmax(1)).mean():.1f}%, "
            f"mean |value difference| {np.abs(fv - iv).mean():.3f}")


def connect4(args):
    game = get_game("connect4")
    config = load_config("connect4")
    nets = networks("connect4", args.calibration_seed)
    positions = labelled_positions(game, args.positions, seed=args.seed)
    states = [p.state() for p in positions]
    optimal = [set(p.optimal_actions()) for p in positions]
    observations = np.stack([game.encode(s) for s in states]).astype(np.float32)
    masks = np.stack([game.legal_mask(s) for s in states]).astype(bool)
    yield (f"connect4: {len(states)} labelled positions (seed {args.seed}); "
           + agreement(nets, observations, masks))
    policy = {k: np.array([int(a) in o for a, o in zip(net.forward(observations, masks)[0]
                                                         .argmax(1), optimal)])
              for k, net in nets.items()}
    yield paired_row("connect4 policy alone", policy)
    for arm in ("puct", "gumbel"):
        params = dataclasses.replace(config.search, arm=arm, simulations=args.sims)
        hits = {k: np.stack([
            np.array([m in o for m, o in zip(searched_moves(game, make_onnx_evaluate_fn(net),
                                                            params, states, seed), optimal)])
            for seed in range(args.search_seeds)]) for k, net in nets.items()}
        yield paired_row(f"connect4 {arm} {args.sims} sims x {args.search_seeds} seeds", hits)


def chess_rows(args):
    game = get_game("chess")
    config = load_config("chess")
    nets = networks("chess", args.calibration_seed)
    boards, best = [], []
    for line in Path(args.wac).read_text().splitlines():
        if line.strip():
            board, ops = chess.Board.from_epd(line)
            boards.append(board)
            best.append({encode_move(m, board.turn) for m in ops.get("bm", [])})
    observations = np.stack([game.encode(b) for b in boards]).astype(np.float32)
    masks = np.stack([game.legal_mask(b) for b in boards]).astype(bool)
    yield f"chess: {len(boards)} Win At Chess positions; " + agreement(nets, observations, masks)
    policy = {k: np.array([int(a) in s for a, s in zip(net.forward(observations, masks)[0]
                                                       .argmax(1), best)])
              for k, net in nets.items()}
    yield paired_row("chess WAC policy alone", policy)
    params = dataclasses.replace(config.search, arm="puct", simulations=args.chess_sims)
    hits = {k: np.array([m in s for m, s in zip(searched_moves(
        game, make_onnx_evaluate_fn(net), params, boards, 0, batch=30), best)])
        for k, net in nets.items()}
    yield paired_row(f"chess WAC puct {args.chess_sims} sims", hits)


def stockfish_rows(args):
    """Held-out Stockfish-labelled positions (alphazero/eval/data/chess/stockfish_heldout.bin,
    generator seed 900001: never a training seed): the share where the network's first choice is
    Stockfish's best move, on all positions and on those where the best move is >= 200 cp
    better than the second; the mean |value - Stockfish's expected score (W - L)|."""
    from alphazero.train.chess_data import NO_ACTION, read_records, record_board
    from alphazero.train.chess_labels import observations

    game = get_game("chess")
    nets = networks("chess", args.calibration_seed)
    records = read_records(args.stockfish)
    obs = observations(records).astype(np.float32)
    masks = np.stack([game.legal_mask(record_board(records[i:i + 1].reshape(()), check=False))
                      for i in range(len(records))]).astype(bool)
    best = records["policy_actions"][np.arange(len(records)),
                                     records["policy_probs"].astype(np.float32).argmax(1)]
    scores = records["policy_scores"].astype(np.int64)
    used = records["policy_actions"] != NO_ACTION
    top2 = np.sort(np.where(used, scores, -10**6), axis=1)[:, -2:]
    clear = (used.sum(1) >= 2) & (top2[:, 1] - top2[:, 0] >= 200)
    target = (records["wdl"][:, 0].astype(np.float32) - records["wdl"][:, 2]) / 1000.0
    out = {k: net.forward(obs, masks) for k, net in nets.items()}
    yield (f"chess: {len(records)} held-out Stockfish positions ({int(clear.sum())} with one "
           f"clearly best move); " + agreement(nets, obs, masks))
    top1 = {k: o[0].argmax(1) == best for k, o in out.items()}
    yield paired_row("chess Stockfish best move, policy", top1)
    yield paired_row("chess clearly best move, policy", {k: v[clear] for k, v in top1.items()})
    errors = {k: np.abs(o[1] - target) for k, o in out.items()}
    d = errors["int8"] - errors["float"]
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    yield (f"| chess value error vs Stockfish (mean abs, not a share) | {len(d)} | "
           f"{errors['float'].mean():.3f} | {errors['int8'].mean():.3f} | {d.mean():+.3f} "
           f"[{d.mean() - half:+.3f}, {d.mean() + half:+.3f}] | |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--games", nargs="+", default=["connect4", "chess", "stockfish"],
                   choices=["connect4", "chess", "stockfish"])
    p.add_argument("--positions", type=int, default=2000, help="Connect Four positions")
    p.add_argument("--seed", type=int, default=0, help="labelled positions' seed")
    p.add_argument("--sims", type=int, default=64, help="Connect Four simulations")
    p.add_argument("--search-seeds", type=int, default=2)
    p.add_argument("--chess-sims", type=int, default=200)
    p.add_argument("--wac", default=str(WAC))
    p.add_argument("--stockfish", default=str(STOCKFISH),
                   help="held-out Stockfish-labelled positions (alphazero.train.chess_data)")
    p.add_argument("--calibration-seed", type=int, default=0)
    args = p.parse_args()
    print("| measure | positions | float32 | int8 | int8 - float, 95% interval | differ |")
    print("|---|---:|---:|---:|---|---:|", flush=True)
    for part in (connect4, chess_rows, stockfish_rows):
        if part.__name__.split("_")[0] in args.games:
            for row in part(args):  # each row as soon as it is measured
                print(row if row.startswith("|") else f"<!-- {row} -->", flush=True)


if __name__ == "__main__":
    main()
