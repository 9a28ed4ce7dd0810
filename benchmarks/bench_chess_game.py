"""Per-call cost of the chess game's hot methods over random midgame positions.

    python benchmarks/bench_chess_game.py [--positions 300] [--repeats 5] [--seed 0]

Positions come from seeded random playouts, sampled between plies 20 and 80 of games
that have not ended. Prints a Markdown table of microseconds per call (best of the
repeats, each repeat timing every position once).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

import chess

from games.chess import GAME


def midgame_positions(count: int, seed: int) -> list[chess.Board]:
    """``count`` boards (with move stacks) at random plies 20..80 of random games."""
    rng = random.Random(seed)
    boards: list[chess.Board] = []
    while len(boards) < count:
        board, target = chess.Board(), rng.randint(20, 80)
        while len(board.move_stack) < target and not GAME.is_terminal(board):
            board.push(rng.choice(list(board.legal_moves)))
        if not GAME.is_terminal(board):
            boards.append(board)
    return boards


def time_per_call(fn: Callable[[chess.Board], object], boards: list[chess.Board],
                  repeats: int) -> float:
    """Best-of-``repeats`` mean microseconds of ``fn`` over ``boards``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for board in boards:
            fn(board)
        best = min(best, (time.perf_counter() - start) / len(boards))
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=300, help="number of positions")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (best is kept)")
    parser.add_argument("--seed", type=int, default=0, help="playout seed")
    args = parser.parse_args()

    boards = midgame_positions(args.positions, args.seed)
    rng = random.Random(args.seed)
    actions = {id(b): int(rng.choice(GAME.legal_actions(b))) for b in boards}
    calls: dict[str, Callable[[chess.Board], object]] = {
        "legal_mask": GAME.legal_mask,
        "legal_actions": GAME.legal_actions,
        "encode": GAME.encode,
        "apply": lambda b: GAME.apply(b, actions[id(b)]),
        "is_terminal": GAME.is_terminal,
        "terminal_value": GAME.terminal_value,
        "describe (encode + mask + terminal)": GAME.describe,
    }
    plies = sum(len(b.move_stack) for b in boards) / len(boards)
    print(f"{len(boards)} positions, mean ply {plies:.0f}, best of {args.repeats}\n")
    print("| call | us per call |")
    print("|---|---:|")
    for label, fn in calls.items():
        print(f"| `{label}` | {time_per_call(fn, boards, args.repeats):.1f} |")


if __name__ == "__main__":
    main()
