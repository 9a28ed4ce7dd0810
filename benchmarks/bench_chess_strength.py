"""Chess strength of a network: games against Stockfish levels, and the Win At Chess suite.

    python benchmarks/bench_chess_strength.py --levels 0,1,3 --games 20 --movetime 1.0
    python benchmarks/bench_chess_strength.py --levels "" --wac   # the shipped wacnew.epd

Games: the engine (PUCT, one tree reused from move to move, 16 leaves per network call) gets
``--movetime`` seconds a move; Stockfish plays at each ``Skill Level`` with ``--sf-movetime``
seconds a move. Colours alternate; games past ``--max-plies`` are adjudicated draws. Prints
W/D/L, the score and the Elo difference with a 95% interval per level, and writes the games
to ``--pgn-dir``.

WAC: each position is searched afresh with ``--wac-sims`` simulations (positions batched
together); a position is solved when the move is one of its ``bm`` moves.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
import time
from pathlib import Path

import chess
import chess.pgn
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alphazero.config import load_config  # noqa: E402
from alphazero.eval.chess_oracle import WAC_FILE  # noqa: E402
from alphazero.eval.elo import elo_difference, format_elo  # noqa: E402
from alphazero.eval.stockfish import StockfishAgent  # noqa: E402
from alphazero.play.analyse import analyse_states  # noqa: E402
from alphazero.play.engine import SearchEngine
from games.chess import GAME, encode_move  # noqa: E402
from nets.loader import resolve_model  # noqa: E402
from nets.torch_net import make_evaluate_fn  # noqa: E402

DEFAULT_WAC = WAC_FILE


def play_game(engine: SearchEngine, stockfish: StockfishAgent, *, engine_white: bool,
              movetime: float, max_plies: int) -> tuple[chess.pgn.Game, float, int]:
    """One game; (PGN, the engine's score 1/0.5/0, mean simulations per engine move)."""
    board = chess.Board()
    engine.set_position(board)
    stockfish.reset()
    sims: list[int] = []
    while not GAME.is_terminal(board) and board.ply() < max_plies:
        if board.turn == (chess.WHITE if engine_white else chess.BLACK):
            before = engine.root_visits()
            analysis = engine.search_for(movetime)
            sims.append(analysis.simulations - before)
            action = analysis.action
        else:
            action = encode_move(stockfish.select_move(board), board.turn)
        board = engine.play(action)
    reason = GAME.outcome_reason(board)
    if reason is None or GAME.terminal_value(board) == 0:
        white_score = 0.5
    else:
        white_score = 0.0 if board.turn == chess.WHITE else 1.0
    game = chess.pgn.Game.from_board(board)
    names = [f"alphazero ({engine.params.arm})", stockfish.name]
    game.headers["Event"] = "bench_chess_strength: alphazero against Stockfish"
    game.headers["Date"] = datetime.date.today().strftime("%Y.%m.%d")
    game.headers["White"], game.headers["Black"] = names if engine_white else names[::-1]
    # PGN TimeControl "moves/seconds": one move in the engine's seconds a move
    game.headers["TimeControl"] = f"1/{movetime:g}"
    game.headers["Result"] = {1.0: "1-0", 0.0: "0-1", 0.5: "1/2-1/2"}[white_score]
    game.headers["Termination"] = reason or "adjudicated draw at the ply limit"
    score = white_score if engine_white else 1.0 - white_score
    return game, score, int(sum(sims) / max(len(sims), 1))


def run_level(engine: SearchEngine, level: int, args) -> dict:
    stockfish = StockfishAgent(level, movetime=args.sf_movetime)
    wins = draws = losses = 0
    sims = []
    out = Path(args.pgn_dir) / f"stockfish{level}.pgn"
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    try:
        with out.open("w") as f:
            for i in range(args.games):
                game, score, mean_sims = play_game(engine, stockfish, engine_white=i % 2 == 0,
                                                   movetime=args.movetime,
                                                   max_plies=args.max_plies)
                game.headers["Round"] = str(i + 1)
                print(game, file=f, end="\n\n", flush=True)
                wins += score == 1.0
                draws += score == 0.5
                losses += score == 0.0
                sims.append(mean_sims)
                print(f"  level {level} game {i + 1}: {game.headers['Result']} "
                      f"({game.headers['Termination']}, {game.end().ply()} plies, "
                      f"{mean_sims} sims/move)", flush=True)
    finally:
        stockfish.close()
    estimate = elo_difference(wins, draws, losses)
    return {"level": level, "wins": wins, "draws": draws, "losses": losses,
            "score": (wins + draws / 2) / args.games, "elo": format_elo(estimate),
            "sims_per_move": int(sum(sims) / len(sims)), "seconds": time.time() - start,
            "pgn": str(out)}


def run_wac(evaluate, params, args) -> tuple[int, int]:
    lines = [line for line in Path(args.wac).read_text().splitlines() if line.strip()]
    boards, best = [], []
    for line in lines[: args.wac_limit]:
        board, ops = chess.Board.from_epd(line)
        boards.append(board)
        best.append({m.uci() for m in ops.get("bm", [])})
    wac_params = dataclasses.replace(params, simulations=args.wac_sims)
    solved = 0
    for i in range(0, len(boards), args.wac_batch):
        chunk = boards[i:i + args.wac_batch]
        for board, record, bm in zip(chunk, analyse_states(GAME, chunk, evaluate, wac_params),
                                     best[i:i + args.wac_batch]):
            solved += record["move"] in bm
        print(f"  WAC {min(i + args.wac_batch, len(boards))}/{len(boards)}: {solved} solved",
              flush=True)
    return solved, len(boards)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="default: the shipped chess checkpoint")
    parser.add_argument("--levels", default="0,1,3", help="Stockfish skill levels ('' for none)")
    parser.add_argument("--games", type=int, default=20, help="games per level")
    parser.add_argument("--movetime", type=float, default=1.0, help="engine seconds a move")
    parser.add_argument("--sf-movetime", type=float, default=0.1,
                        help="Stockfish seconds a move")
    parser.add_argument("--max-plies", type=int, default=400)
    parser.add_argument("--pgn-dir", default="runs/bench_chess")
    parser.add_argument("--wac", nargs="?", const=str(DEFAULT_WAC), help="EPD suite to solve")
    parser.add_argument("--wac-sims", type=int, default=800)
    parser.add_argument("--wac-limit", type=int, default=None, help="first N positions only")
    parser.add_argument("--wac-batch", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    config = load_config("chess")
    model, source = resolve_model(GAME, config.network, args.checkpoint)
    print(f"chess strength: {source}", flush=True)
    evaluate = make_evaluate_fn(model, num_threads=args.threads)
    params = dataclasses.replace(config.search, arm="puct", leaves_per_step=16)
    engine = SearchEngine(GAME, evaluate, params)
    results = []
    for level in [int(x) for x in args.levels.split(",") if x.strip()]:
        results.append(run_level(engine, level, args))
        r = results[-1]
        print(f"level {level}: +{r['wins']} ={r['draws']} -{r['losses']} score "
              f"{100 * r['score']:.0f}% Elo {r['elo']}; {r['sims_per_move']} sims/move", flush=True)
    wac = run_wac(evaluate, params, args) if args.wac else None

    print(f"\n{source}; engine {args.movetime:g} s/move, Stockfish {args.sf_movetime:g} s/move\n")
    if results:
        print("| Stockfish level | games | W / D / L | score | Elo difference | sims/move |")
        print("|---:|---:|---|---:|---|---:|")
        for r in results:
            print(f"| {r['level']} | {args.games} | {r['wins']} / {r['draws']} / {r['losses']} | "
                  f"{100 * r['score']:.0f}% | {r['elo']} | {r['sims_per_move']} |")
    if wac is not None:
        print(f"\nWAC ({args.wac_sims} simulations): {wac[0]} / {wac[1]} solved "
              f"({100 * wac[0] / wac[1]:.0f}%)")


if __name__ == "__main__":
    main()
