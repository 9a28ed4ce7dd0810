"""Training games for ``alphazero pretrain``: Stockfish against itself, written as PGN.

    python benchmarks/make_stockfish_pgn.py --games 2000 --out data/stockfish.pgn

Each game opens with 0..``--random-plies`` uniformly random moves (for diversity; their count is
stored in the ``RandomPlies`` header so pretraining does not learn them as policy targets), then
both sides are Stockfish at a skill level drawn from ``--levels`` and a node budget drawn from
``--nodes``. After the opening, each move is, with probability ``--blunder-rate``, a uniformly
random legal move instead of Stockfish's: Stockfish's games almost never leave material
hanging, so without these a network never sees a piece won or a position a queen up. Their
plies are listed in the ``RandomMoves`` header (0-based, space-separated) so pretraining learns
the punishment that follows as a policy target, never the random move. Each engine move's
search score is written as a ``[%eval]`` comment on the move that led to the searched position
(lichess's convention: the eval of the position after the move, from White), which pretraining
can blend into the value target. Games past ``--max-plies`` are adjudicated as draws. Games are
appended to ``--out`` as they finish, so the file can be read (and training started) while
generation goes on. Write them under ``data/`` (git-ignored): never commit large PGNs.
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
import time
from pathlib import Path

import chess
import chess.engine
import chess.pgn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alphazero.eval.stockfish import open_engine  # noqa: E402


def play_game(engine: chess.engine.SimpleEngine, rng: random.Random, *, levels: list[int],
              nodes: tuple[int, int], random_plies: int, max_plies: int,
              blunder_rate: float = 0.0) -> chess.pgn.Game:
    """One game; its headers say who played, at what budget, and how many plies were random."""
    board = chess.Board()
    skill = {chess.WHITE: rng.choice(levels), chess.BLACK: rng.choice(levels)}
    budget = {color: rng.randint(*nodes) for color in (chess.WHITE, chess.BLACK)}
    randomised = rng.randint(0, random_plies)
    for _ in range(randomised):
        moves = list(board.legal_moves)
        if not moves or board.is_game_over(claim_draw=True):
            break
        board.push(rng.choice(moves))
    played_random = len(board.move_stack)
    engine.protocol.send_line("ucinewgame")
    evals: dict[int, chess.engine.PovScore] = {}  # ply -> score of the position at that ply
    random_moves: list[int] = []  # plies of the random moves after the opening
    while not board.is_game_over(claim_draw=True) and len(board.move_stack) < max_plies:
        if blunder_rate > 0 and rng.random() < blunder_rate:
            random_moves.append(len(board.move_stack))
            board.push(rng.choice(list(board.legal_moves)))
            continue
        engine.configure({"Skill Level": skill[board.turn]})
        result = engine.play(board, chess.engine.Limit(nodes=budget[board.turn]),
                             info=chess.engine.INFO_SCORE)
        if "score" in result.info:
            evals[len(board.move_stack)] = result.info["score"]
        board.push(result.move)
    outcome = board.outcome(claim_draw=True)
    game = chess.pgn.Game.from_board(board)
    for ply, node in enumerate(game.mainline(), start=1):
        if ply in evals:  # node's position is the one searched at this ply
            node.set_eval(evals[ply])
    game.headers["Event"] = "Stockfish self-play for pretraining"
    game.headers["Date"] = datetime.date.today().strftime("%Y.%m.%d")
    game.headers["White"] = f"Stockfish skill {skill[chess.WHITE]} nodes {budget[chess.WHITE]}"
    game.headers["Black"] = f"Stockfish skill {skill[chess.BLACK]} nodes {budget[chess.BLACK]}"
    game.headers["Result"] = outcome.result() if outcome else "1/2-1/2"
    game.headers["RandomPlies"] = str(played_random)
    if random_moves:
        game.headers["RandomMoves"] = " ".join(map(str, random_moves))
    if outcome is None:
        game.headers["Termination"] = "adjudicated draw at the ply limit"
    return game


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=1000, help="games to play")
    parser.add_argument("--out", default="data/stockfish.pgn", help="PGN file (appended to)")
    parser.add_argument("--levels", default="5,10,15,20,20,20",
                        help="comma-separated skill levels, drawn per side and game")
    parser.add_argument("--nodes", default="400,3000", help="node budget range MIN,MAX per move")
    parser.add_argument("--random-plies", type=int, default=6,
                        help="at most this many random opening plies")
    parser.add_argument("--blunder-rate", type=float, default=0.0,
                        help="chance that a move after the opening is random (0 to 1)")
    parser.add_argument("--max-plies", type=int, default=300, help="adjudicate a draw after")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stockfish", help="Stockfish binary (default: found automatically)")
    args = parser.parse_args()

    if not 0.0 <= args.blunder_rate <= 1.0:
        parser.error(f"--blunder-rate must be in [0, 1], not {args.blunder_rate}")
    levels = [int(x) for x in args.levels.split(",")]
    low, high = (int(x) for x in args.nodes.split(","))
    rng = random.Random(args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    engine = open_engine(args.stockfish)
    start = time.time()
    plies = 0
    try:
        with out.open("a", encoding="utf-8") as f:
            for i in range(args.games):
                game = play_game(engine, rng, levels=levels, nodes=(low, high),
                                 random_plies=args.random_plies, max_plies=args.max_plies,
                                 blunder_rate=args.blunder_rate)
                game.headers["Round"] = str(i + 1)
                print(game, file=f, end="\n\n", flush=True)
                plies += game.end().ply()
                if (i + 1) % 20 == 0 or i + 1 == args.games:
                    rate = (i + 1) / (time.time() - start)
                    print(f"{i + 1} games, {plies} plies, {rate:.2f} games/s", file=sys.stderr,
                          flush=True)
    finally:
        engine.quit()


if __name__ == "__main__":
    main()
