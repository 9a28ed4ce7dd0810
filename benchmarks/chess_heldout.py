"""How well a chess network predicts held-out Stockfish games: the cheap check before a match.

    python benchmarks/chess_heldout.py nets/checkpoints/chess.pt runs/pretrain/chess3.pt \
        --pgn data/sf_s3_1.pgn --games 40

For every position of the first ``--games`` games of ``--pgn`` (games the networks did not train
on, from benchmarks/make_stockfish_pgn.py), it reports:

- policy top-1: how often the network's favourite move is the move Stockfish played (random
  opening plies excluded);
- value against Stockfish: the correlation of the network's value with the expected score of
  the ``[%eval]`` annotation (Stockfish 15.1's WDL model), and how often their signs agree
  where Stockfish sees a clear edge (|expected score| > 0.5).

and, with ``--material``, the value the network gives the side to move in the starting position
when the opponent lacks a queen, a rook, a minor piece or a pawn (both colours, averaged): a
network that does not know a queen is worth winning will not win one in a match.

It needs no search and runs the numpy network, so it takes seconds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import chess
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alphazero.config import load_config  # noqa: E402
from alphazero.train.pretrain import game_positions, iter_pgn_games  # noqa: E402
from games import get_game  # noqa: E402
from games.chess import encode_board  # noqa: E402
from nets.loader import resolve_evaluate  # noqa: E402

# The opponent's missing piece, by square of the black piece in the starting position.
MISSING = {"queen": chess.D8, "rook": chess.A8, "knight": chess.B8, "bishop": chess.C8,
           "pawn": chess.E7}


def held_out(pgn: str, games: int):
    """(observations, legal masks, moves played or -1, Stockfish values) of the positions, and
    the number of games they came from."""
    game = get_game("chess")
    obs, legal, moves, values = [], [], [], []
    used = 0
    for i, record in enumerate(iter_pgn_games([pgn])):
        if i >= games:
            break
        used += 1
        for p in game_positions(record, eval_weight=1.0):
            mask = np.zeros(game.num_actions, dtype=bool)
            mask[p.legal] = True
            obs.append(p.observation)
            legal.append(mask)
            moves.append(p.action)
            values.append(p.value)
    if not obs:
        raise SystemExit(f"no usable games in {pgn}")
    return (np.stack(obs).astype(np.float32), np.stack(legal), np.asarray(moves),
            np.asarray(values), used)


def load(checkpoint: str):
    """The checkpoint's numpy evaluate function."""
    return resolve_evaluate(get_game("chess"), load_config("chess").network, checkpoint,
                            backend="numpy")[0]


def score(evaluate, data, batch: int = 64) -> dict[str, float]:
    obs, legal, moves, target = data
    parts = [evaluate(obs[s:s + batch], legal[s:s + batch]) for s in range(0, len(obs), batch)]
    logits = np.concatenate([p[0] for p in parts])
    value = np.concatenate([p[1] for p in parts])
    played = moves >= 0
    clear = np.abs(target) > 0.5
    return {
        "positions": len(obs),
        "policy_top1": float(np.mean(logits[played].argmax(axis=1) == moves[played])),
        "value_corr": float(np.corrcoef(value, target)[0, 1]),
        "sign_agreement": float(np.mean(np.sign(value[clear]) == np.sign(target[clear]))),
        "mean_abs_value": float(np.abs(value).mean()),
    }


def material_values(evaluate) -> dict[str, float]:
    """The side to move's value with the opponent a piece short, averaged over both colours."""
    game = get_game("chess")
    boards = []
    for square in MISSING.values():
        white_up = chess.Board()
        white_up.remove_piece_at(square)
        black_up = chess.Board()
        black_up.remove_piece_at(chess.square_mirror(square))
        black_up.push(chess.Move.from_uci("g1f3"))  # Black to move, White a piece short
        boards += [white_up, black_up]
    obs = np.stack([encode_board(b) for b in boards]).astype(np.float32)
    legal = np.stack([game.legal_mask(b) for b in boards])
    value = evaluate(obs, legal)[1]
    return {name: float(value[2 * i:2 * i + 2].mean()) for i, name in enumerate(MISSING)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--pgn", required=True, help="held-out games with [%%eval] comments")
    parser.add_argument("--games", type=int, default=40)
    parser.add_argument("--material", action="store_true",
                        help="also print the value of being a piece up at the start")
    args = parser.parse_args()
    *data, used = held_out(args.pgn, args.games)
    print(f"{len(data[0])} positions from {used} games of {args.pgn} "
          f"(mean |Stockfish value| {np.abs(data[3]).mean():.3f})")
    print("| checkpoint | policy top-1 | value corr. | sign agreement (clear edge) "
          "| mean abs value |")
    print("|---|---:|---:|---:|---:|")
    evaluates = {checkpoint: load(checkpoint) for checkpoint in args.checkpoints}
    for checkpoint, evaluate in evaluates.items():
        s = score(evaluate, data)
        print(f"| {checkpoint} | {s['policy_top1']:.1%} | {s['value_corr']:.3f} | "
              f"{s['sign_agreement']:.1%} | {s['mean_abs_value']:.3f} |")
    if args.material:
        print("\nValue of the side to move at the start, the opponent lacking a piece:")
        print("| checkpoint | " + " | ".join(MISSING) + " |")
        print("|---|" + "---:|" * len(MISSING))
        for checkpoint, evaluate in evaluates.items():
            m = material_values(evaluate)
            print(f"| {checkpoint} | " + " | ".join(f"{m[k]:+.2f}" for k in MISSING) + " |")


if __name__ == "__main__":
    main()
