"""Tic-tac-toe strength: a checkpoint (with its search) against a perfect player.

The perfect player picks uniformly among the moves with the best minimax value
(``games.tictactoe.perfect_values``), so its games differ; the network plays with the config's
search (arm and simulations), greedily, without noise. 50 games with each colour by default;
the target is no loss.

    python benchmarks/bench_tictactoe_strength.py                      # the shipped checkpoint
    python benchmarks/bench_tictactoe_strength.py \
        --checkpoint runs/tictactoe-.../checkpoints/step_00000600.pt
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from alphazero.config import load_config
from games.tictactoe import GAME, perfect_values
from nets.loader import resolve_evaluate, shipped_checkpoint
from search import BatchedMCTS


def perfect_move(state: np.ndarray, rng: np.random.Generator, memo: dict) -> int:
    """A uniformly random move among those with the best minimax value."""
    moves = np.flatnonzero(GAME.legal_mask(state))
    values = np.array([-perfect_values(GAME.apply(state, int(a)), memo) for a in moves])
    return int(rng.choice(moves[values == values.max()]))


def play(evaluate, params, games_per_colour: int, seed: int) -> dict[str, list[int]]:
    """{"X": [wins, draws, losses], "O": [...]} of the network, all games played at once."""
    n = 2 * games_per_colour
    net_first = np.arange(n) < games_per_colour  # the network plays X in the first half
    states = [GAME.initial_state() for _ in range(n)]
    done = np.zeros(n, dtype=bool)
    mcts = BatchedMCTS(GAME, evaluate, params, batch_size=n, seed=seed)
    rng = np.random.default_rng(seed)
    memo: dict = {}
    result = None
    while not done.all():
        to_move_first = np.array([GAME.to_play(s) == 0 for s in states])
        net_turn = ~done & (to_move_first == net_first)
        if net_turn.any():
            mcts.set_roots([states[b] for b in np.flatnonzero(net_turn)], np.flatnonzero(net_turn))
            result = mcts.run(active=net_turn, temperature=0.0)
        for b in np.flatnonzero(~done):
            action = int(result.action[b]) if net_turn[b] else perfect_move(states[b], rng, memo)
            states[b] = GAME.apply(states[b], action)
            done[b] = GAME.is_terminal(states[b])
    record = {"X": [0, 0, 0], "O": [0, 0, 0]}
    for b, state in enumerate(states):
        # terminal_value is from the side to move: -1 means the player who just moved won.
        mover_won = GAME.terminal_value(state) < 0
        net_moved_last = (GAME.to_play(state) == 1) == net_first[b]
        outcome = 1 if not mover_won else (0 if net_moved_last else 2)  # 0 win, 1 draw, 2 loss
        record["X" if net_first[b] else "O"][outcome] += 1
    return record


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", help="default: the shipped nets/checkpoints/tictactoe.pt")
    p.add_argument("--config", default="tictactoe", help="config whose search is used")
    p.add_argument("--sims", type=int, help="simulations per move (default: the config's)")
    p.add_argument("--games", type=int, default=50, help="games with each colour")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    path = args.checkpoint or shipped_checkpoint("tictactoe")
    if path is None:
        p.error("no checkpoint given and none shipped")
    config = load_config(args.config)
    params = config.search
    if args.sims is not None:
        params = dataclasses.replace(params, simulations=args.sims)
    evaluate, _ = resolve_evaluate(GAME, config.network, path, backend="torch")
    started = time.perf_counter()
    record = play(evaluate, params, args.games, args.seed)
    seconds = time.perf_counter() - started
    losses = record["X"][2] + record["O"][2]
    print(
        f"checkpoint {path}: {params.arm} search, {params.simulations} simulations, "
        f"against a perfect player (random among optimal moves)"
    )
    for colour in ("X", "O"):
        wins, draws, lost = record[colour]
        print(f"  network as {colour}: {wins} wins, {draws} draws, {lost} losses")
    print(f"  total losses: {losses} of {2 * args.games} games ({seconds:.1f} s)")
    return 1 if losses else 0


if __name__ == "__main__":
    sys.exit(main())
