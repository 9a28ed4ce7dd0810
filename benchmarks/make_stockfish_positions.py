"""Stockfish-labelled positions for pretraining, appended to a file in
``alphazero.train.chess_data``'s format.

    python benchmarks/make_stockfish_positions.py --out data/chess_positions.bin [--games N]

Games are varied as in make_stockfish_pgn.py: 0..``--random-plies`` uniformly random opening
moves, then each side is Stockfish at a Skill Level drawn from ``--levels`` and a node budget
drawn from ``--nodes``, and each later move is, with probability ``--blunder-rate``, a random
legal move instead. Every position reached that is not over (with probability
``--label-share``) is labelled by a separate full-strength analysis (Skill Level 20,
``--label-nodes`` nodes, ``--multipv`` lines): the policy target is a softmax over the lines'
scores at ``--temperature`` pawns, the value the WDL of the best score, and the game's result
is stored beside it (see alphazero/train/chess_labels.py). Games past ``--max-plies`` are drawn.

One Stockfish process (Threads=1, ``--hash`` MB) plays and labels, so the run uses one core.
Each finished game is appended as one chunk; game ``i`` draws from its own RNG seeded by
``(--seed, i)``, and a restart continues with the game after the last one in the file, so an
interrupted run resumes with new games (a game cut off by the interruption is lost, never
half-written). Write under ``data/`` (git-ignored): never commit the file.
"""

from __future__ import annotations

import argparse
import itertools
import random
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import chess
import chess.engine
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alphazero.eval.stockfish import open_engine  # noqa: E402
from alphazero.train.chess_data import (  # noqa: E402
    FLAG_ADJUDICATED,
    FLAG_OPENING,
    FLAG_RANDOM_MOVE,
    MAX_CHUNK_RECORDS,
    RECORD_DTYPE,
    PositionFileError,
    PositionWriter,
    summary_line,
)
from alphazero.train.chess_labels import label_record  # noqa: E402
from games.chess import GAME, encode_move  # noqa: E402

# Settings that change what a label means: a file keeps the ones it was started with.
LABEL_SETTINGS = ("seed", "multipv", "temperature", "wdl_model")


@dataclass(frozen=True)
class Settings:
    """How games are played and labelled (stored in the file header as JSON)."""

    levels: tuple[int, ...] = (0, 3, 6, 9, 12, 15, 18, 20, 20, 20)
    nodes: tuple[int, int] = (400, 3000)  # node budget range of a player's moves
    random_plies: int = 8
    blunder_rate: float = 0.02
    max_plies: int = 300
    label_nodes: int = 20_000
    multipv: int = 5
    temperature: float = 1.0  # pawns
    label_share: float = 1.0
    seed: int = 0
    wdl_model: str = "sf15.1"

    def __post_init__(self) -> None:
        checks = {
            "levels must be Skill Levels 0..20": all(0 <= x <= 20 for x in self.levels)
            and len(self.levels) > 0,
            "nodes must be MIN,MAX with 1 <= MIN <= MAX": 1 <= self.nodes[0] <= self.nodes[1],
            "random plies must be >= 0": self.random_plies >= 0,
            "blunder rate must be in [0, 1]": 0.0 <= self.blunder_rate <= 1.0,
            f"max plies must be in 1..{MAX_CHUNK_RECORDS}": 1 <= self.max_plies
            <= MAX_CHUNK_RECORDS,
            "label nodes must be >= 1": self.label_nodes >= 1,
            "multipv must be in 1..8": 1 <= self.multipv <= 8,
            "temperature must be > 0 pawns": self.temperature > 0,
            "label share must be in (0, 1]": 0.0 < self.label_share <= 1.0,
        }
        for message, ok in checks.items():
            if not ok:
                raise ValueError(f"{message} ({self})")


def game_rng(seed: int, index: int) -> random.Random:
    """The RNG of game ``index``: the same game index always draws the same game settings."""
    return random.Random(f"make_stockfish_positions:{seed}:{index}")


def _repetitions(board: chess.Board) -> int:
    """Times the current position occurred before in the game: 0, 1 or 2 (2+)."""
    return 2 if board.is_repetition(3) else 1 if board.is_repetition(2) else 0


def play_labelled_game(engine: chess.engine.SimpleEngine, index: int, settings: Settings, *,
                       on_position: Callable[[], None] | None = None) -> np.ndarray:
    """Play game ``index`` and return its labelled positions, RECORD_DTYPE[n] in ply order.

    ``on_position`` is called after each position is labelled (for a progress bar).
    """
    rng = game_rng(settings.seed, index)
    skill = (rng.choice(settings.levels), rng.choice(settings.levels))  # White, Black
    budget = (rng.randint(*settings.nodes), rng.randint(*settings.nodes))
    opening = rng.randint(0, settings.random_plies)
    label_limit = chess.engine.Limit(nodes=settings.label_nodes)
    board = chess.Board()
    records = []
    while not GAME.is_terminal(board) and board.ply() < settings.max_plies:
        side = 0 if board.turn == chess.WHITE else 1
        record = None
        if rng.random() < settings.label_share:
            lines = engine.analyse(board, label_limit, multipv=settings.multipv, game=index,
                                   options={"Skill Level": 20})
            record = label_record(board, lines, temperature=settings.temperature,
                                  repetitions=_repetitions(board), wdl_model=settings.wdl_model)
        flags = 0
        if board.ply() < opening or rng.random() < settings.blunder_rate:
            flags = FLAG_RANDOM_MOVE | (FLAG_OPENING if board.ply() < opening else 0)
            move = rng.choice(list(board.legal_moves))
        else:
            move = engine.play(board, chess.engine.Limit(nodes=budget[side]), game=index,
                               options={"Skill Level": skill[side]}).move
        if record is not None:
            record["played_action"] = encode_move(move, board.turn)
            record["flags"] = flags
            record["ply"] = board.ply()
            record["skill"] = skill
            record["play_nodes"] = budget
            record["label_nodes"] = settings.label_nodes
            records.append(record)
            if on_position is not None:
                on_position()
        board.push(move)
    outcome = board.outcome(claim_draw=True)
    white = {chess.WHITE: 1, chess.BLACK: -1, None: 0}[outcome.winner] if outcome else 0
    out = np.array(records, dtype=RECORD_DTYPE).reshape(-1)
    if len(out):
        out["result"] = np.where(out["turn"] == 1, white, -white)
        if not GAME.is_terminal(board):
            out["flags"] |= FLAG_ADJUDICATED
    return out


def _parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Settings]:
    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/chess_positions.bin", help="file (appended to)")
    parser.add_argument("--games", type=int, default=0, help="games to add (0: no limit)")
    parser.add_argument("--positions", type=int, default=0,
                        help="stop once the file holds this many positions (0: no limit)")
    parser.add_argument("--levels", default=",".join(map(str, defaults.levels)),
                        help="comma-separated Skill Levels, drawn per side and game")
    parser.add_argument("--nodes", default=",".join(map(str, defaults.nodes)),
                        help="node budget range MIN,MAX of a player's moves")
    parser.add_argument("--random-plies", type=int, default=defaults.random_plies,
                        help="at most this many random opening plies")
    parser.add_argument("--blunder-rate", type=float, default=defaults.blunder_rate,
                        help="chance that a move after the opening is random")
    parser.add_argument("--max-plies", type=int, default=defaults.max_plies,
                        help="a game still going after this many plies is drawn")
    parser.add_argument("--label-nodes", type=int, default=defaults.label_nodes,
                        help="nodes of each labelling analysis (all MultiPV lines together)")
    parser.add_argument("--multipv", type=int, default=defaults.multipv,
                        help="lines of the labelling analysis: moves of the policy target")
    parser.add_argument("--temperature", type=float, default=defaults.temperature,
                        help="policy softmax temperature in pawns (100 centipawns)")
    parser.add_argument("--label-share", type=float, default=defaults.label_share,
                        help="chance that a position is labelled (1: every position)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--hash", type=int, default=64, help="Stockfish hash (MB)")
    parser.add_argument("--stockfish", help="Stockfish binary (default: found automatically)")
    args = parser.parse_args(argv)
    try:
        settings = Settings(
            levels=tuple(int(x) for x in args.levels.split(",")),
            nodes=tuple(int(x) for x in args.nodes.split(",")), random_plies=args.random_plies,
            blunder_rate=args.blunder_rate, max_plies=args.max_plies,
            label_nodes=args.label_nodes, multipv=args.multipv, temperature=args.temperature,
            label_share=args.label_share, seed=args.seed)
        if len(settings.nodes) != 2:
            raise ValueError(f"--nodes takes MIN,MAX, not {args.nodes!r}")
    except ValueError as err:
        parser.error(str(err))
    return args, settings


def _on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # stop between writes: the engine quits, the file stays whole


def main(argv: list[str] | None = None) -> None:
    from tqdm import tqdm

    args, settings = _parse_args(argv)
    meta = {**asdict(settings), "generator": "benchmarks/make_stockfish_positions.py"}
    try:
        writer = PositionWriter(args.out, meta=meta)
    except PositionFileError as err:
        sys.exit(f"error: {args.out}: {err}")
    changed = [k for k in LABEL_SETTINGS if writer.meta.get(k) != meta[k]]
    if changed:
        writer.close()
        sys.exit(f"error: {args.out} was started with other " + ", ".join(
            f"{k}={writer.meta.get(k)!r}" for k in changed) + ": use those or another file")
    signal.signal(signal.SIGTERM, _on_sigterm)
    engine = open_engine(args.stockfish, options={"Hash": args.hash, "Threads": 1})
    tty = sys.stderr.isatty()
    bar = tqdm(total=args.positions or None, initial=writer.positions, unit="pos",
               desc=f"{Path(args.out).name} (from game {writer.next_game})", file=sys.stderr,
               mininterval=0.5 if tty else 30.0, ascii=not tty, dynamic_ncols=tty)
    start, added = time.time(), 0
    try:
        for game in itertools.count():
            if (args.games and game >= args.games) or (
                    args.positions and writer.positions >= args.positions):
                break
            records = play_labelled_game(engine, writer.next_game, settings,
                                         on_position=lambda: bar.update(1))
            writer.write_game(writer.next_game, records)
            added += len(records)
            if not tty and (game + 1) % 50 == 0:
                bar.write(f"{time.strftime('%H:%M:%S')} {summary_line(args.out)}; this run "
                          f"{game + 1} games, {added / (time.time() - start):.1f} positions/s")
    except KeyboardInterrupt:
        bar.write("interrupted: the unfinished game is dropped")
    finally:
        bar.close()
        engine.quit()
        writer.close()
    print(f"{args.out}: {summary_line(args.out)}", file=sys.stderr)


if __name__ == "__main__":
    main()
