"""Where does a Connect Four network lose? Play it against rollout MCTS, then solve every
position of each game it did not win and list its moves that changed the game-theoretic value.

    python benchmarks/connect4_losses.py nets/checkpoints/connect4.pt --games 100

Prints the match result, then one line per game not won: the result, its length, and each of
the network's value-losing moves as (ply, value before, value after) from its point of view
(1 win, 0 draw, -1 loss). Positions before ``--from-ply`` are not solved: with few stones the
solver takes seconds to minutes a position.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from alphazero.eval.agents import RolloutAgent, parse_agent_spec
from alphazero.eval.matches import agent_seed, play_match
from games import get_game
from games.connect4_solver import Connect4Solver


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="checkpoint file")
    p.add_argument("--sims", type=int, default=200, help="simulations of the network (200)")
    p.add_argument("--arm", choices=["puct", "gumbel"], default="puct")
    p.add_argument("--games", type=int, default=100)
    p.add_argument("--rollout", type=int, default=1000, help="rollout MCTS simulations (1000)")
    p.add_argument("--from-ply", type=int, default=8, help="first ply to solve (8)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    game, solver = get_game("connect4"), Connect4Solver()
    agent = parse_agent_spec(game, f"{args.checkpoint}:{args.sims}:{args.arm}",
                              seed=agent_seed(args.seed, 0))
    opponent = RolloutAgent(game, args.rollout, seed=agent_seed(args.seed, 1))
    result = play_match(game, agent, opponent, games=args.games, seed=args.seed)
    print(f"{args.checkpoint} ({args.arm}, {args.sims} sims) vs rollout:{args.rollout}: "
          f"W/D/L {result.wins}/{result.draws}/{result.losses}")

    def value(moves: list[int]) -> int | None:
        """Game-theoretic value for the side to move, None when the game is over."""
        state = game.initial_state()
        for action in moves:
            state = game.apply(state, action)
        if game.is_terminal(state):
            return None
        return int(np.sign(solver.solve((int(state[0]), int(state[1]), int(state[2])))))

    for record in result.records:
        score = record.first_player_score if record.a_first else 1 - record.first_player_score
        if score >= 1:
            continue
        mine = 0 if record.a_first else 1  # parity of the plies the network plays
        mistakes = []
        for ply in range(max(args.from_ply, record.opening_plies), len(record.moves)):
            if ply % 2 != mine:
                continue
            before, after = value(record.moves[:ply]), value(record.moves[:ply + 1])
            if before is not None and after is not None and -after < before:
                mistakes.append((ply, before, -after))
        line = "".join(str(m + 1) for m in record.moves)
        print(f"score {score}, {len(record.moves)} plies, value-losing moves {mistakes}: {line}")


if __name__ == "__main__":
    main()
