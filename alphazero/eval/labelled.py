"""Solver-labelled positions: how often does a player keep the game-theoretic value?

A labelled position holds the exact score of every legal move for the side to move. Only
positions where some legal move would *change* the game-theoretic value (win, draw or loss) are
kept: a won or drawn position with at least one mistake available. A move is **optimal** when
it keeps the value (the sign of its score equals the sign of the best score) and **best** when
it has the best exact score (for Connect Four, Pons scores also prefer faster wins and slower
losses).

Connect Four positions are generated with the project's own solver (never from
``../shared/data``): playouts to 16-28 stones in which each ply is, by chance, a uniformly random
move, a "sensible" move (block an immediate threat, never hand the opponent a win at once), or,
from 16 stones on, a random value-keeping move found by ``Connect4Solver.analyse``. Position
``i`` of a seed depends only on ``(seed, i)``, so a cache file of the first ``n`` positions
extends to more without changing them. Tic-tac-toe positions are all reachable positions,
labelled with ``perfect_values``. Both are read through ``alphazero.eval.solver.ExactScores``.

    python -m alphazero.eval.labelled --count 1000 --seed 0 [--regenerate]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alphazero.eval.solver import ExactScores
from games import connect4 as c4
from games import get_game
from games.base import Game
from games.connect4_solver import Connect4Solver
from nets.files import atomic_write_text

CONNECT4_STONES = (16, 28)
GUIDED_FROM = 16  # solver-guided moves only from here: earlier positions take seconds to solve
_SHARES = (0.25, 0.5, 0.25)  # random, sensible, solver-guided (before GUIDED_FROM: no solver)


@dataclass(frozen=True)
class LabelledPosition:
    """A position (the game's text: Connect Four column digits, tic-tac-toe cells) and the
    exact score of each action for the side to move (None: illegal)."""

    game: str
    moves: str
    scores: tuple[int | None, ...]  # [num_actions]

    @property
    def value(self) -> int:
        """Game-theoretic value for the side to move: 1 win, 0 draw, -1 loss."""
        return int(np.sign(max(s for s in self.scores if s is not None)))

    def best_actions(self) -> list[int]:
        best = max(s for s in self.scores if s is not None)
        return [a for a, s in enumerate(self.scores) if s == best]

    def optimal_actions(self) -> list[int]:
        """Actions that keep the game-theoretic value."""
        return [a for a, s in enumerate(self.scores) if s is not None and np.sign(s) == self.value]

    def changes_value(self) -> bool:
        """True if some legal action would change the game-theoretic value."""
        return any(s is not None and np.sign(s) != self.value for s in self.scores)

    def state(self) -> Any:
        return get_game(self.game).parse_position(self.moves)


@dataclass(frozen=True)
class MoveAccuracy:
    """Shares of positions where the chosen move was optimal (kept the value) and best."""

    optimal: float
    best: float
    positions: int


def optimal_share(agent_or_moves: Any, positions: Sequence[LabelledPosition], *,
                  batch_size: int = 256) -> MoveAccuracy:
    """Score an agent (its ``select_moves`` on the positions, ``batch_size`` at a time) or a
    list of actions, one per position, against the labels."""
    if not positions:
        raise ValueError("no labelled positions to score")
    if hasattr(agent_or_moves, "select_moves"):
        moves: list[int] = []
        for start in range(0, len(positions), batch_size):
            chunk = positions[start:start + batch_size]
            moves += agent_or_moves.select_moves([p.state() for p in chunk])
    else:
        moves = [int(m) for m in agent_or_moves]
    if len(moves) != len(positions):
        raise ValueError(f"{len(moves)} moves for {len(positions)} positions")
    optimal = sum(m in p.optimal_actions() for m, p in zip(moves, positions))
    best = sum(m in p.best_actions() for m, p in zip(moves, positions))
    n = len(positions)
    return MoveAccuracy(optimal=optimal / n, best=best / n, positions=n)


# ---------------------------------------------------------------------- Connect Four
def _wins_now(state: np.ndarray, col: int) -> bool:
    """Would the side to move connect four by playing ``col``?"""
    out = np.empty(3, dtype=np.int64)
    c4.apply_nb(state, col, out)
    return bool(c4.aligned(out[0] ^ out[1]))


def _sensible_moves(state: np.ndarray) -> list[int]:
    """Block the opponent's immediate win if there is one; otherwise moves that neither win
    at once (that would end the playout) nor let the opponent win next (when avoidable)."""
    legal = [c for c in range(c4.WIDTH) if c4.can_play(state, c)]
    passed = np.array([state[0] ^ state[1], state[1], state[2]], dtype=np.int64)  # opponent's turn
    blocks = [c for c in legal if _wins_now(passed, c)]
    if blocks:
        return blocks
    quiet = [c for c in legal if not _wins_now(state, c)] or legal
    safe = []
    for c in quiet:
        child = np.empty(3, dtype=np.int64)
        c4.apply_nb(state, c, child)
        if not any(_wins_now(child, r) for r in range(c4.WIDTH) if c4.can_play(child, r)):
            safe.append(c)
    return safe or quiet


def connect4_tactic(position: LabelledPosition) -> str:
    """"win" (the side to move connects four at once), "block" (else, it must stop the
    opponent's immediate four) or "quiet": the positions where optimal play takes more than
    one-move tactics."""
    state = position.state()
    legal = [c for c in range(c4.WIDTH) if c4.can_play(state, c)]
    if any(_wins_now(state, c) for c in legal):
        return "win"
    passed = np.array([state[0] ^ state[1], state[1], state[2]], dtype=np.int64)
    return "block" if any(_wins_now(passed, c) for c in legal) else "quiet"


def connect4_position(index: int, *, seed: int, solver: Connect4Solver,
                      stones: tuple[int, int] = CONNECT4_STONES) -> LabelledPosition:
    """Position ``index`` of the set for ``seed`` (depends on nothing else)."""
    rng = np.random.default_rng([seed, index])
    game = get_game("connect4")
    exact = ExactScores(game, solver=solver)
    while True:
        target = int(rng.integers(stones[0], stones[1] + 1))
        state, text = game.initial_state(), ""
        for _ in range(target):
            kind = rng.choice(3, p=_SHARES)
            if kind == 2 and state[2] >= GUIDED_FROM:
                scores = exact.move_scores(state)
                value = np.sign(max(s for s in scores if s is not None))
                choices = [c for c, s in enumerate(scores) if s is not None and np.sign(s) == value]
            elif kind == 0:
                choices = list(np.flatnonzero(game.legal_mask(state)))
            else:
                choices = _sensible_moves(state)
            col = int(rng.choice(choices))
            state, text = game.apply(state, col), text + str(col + 1)
            if game.is_terminal(state):
                break
        if game.is_terminal(state):
            continue
        position = LabelledPosition("connect4", text, exact.move_scores(state))
        if position.changes_value():
            return position


def generate_connect4(count: int, *, seed: int = 0, start: int = 0,
                      solver: Connect4Solver | None = None,
                      progress: Callable[[int], None] | None = None) -> list[LabelledPosition]:
    """Positions ``start .. start + count - 1`` of the set for ``seed``."""
    solver = solver or Connect4Solver()
    out = []
    for index in range(start, start + count):
        out.append(connect4_position(index, seed=seed, solver=solver))
        if progress is not None:
            progress(index + 1)
    return out


# ------------------------------------------------------------------------ tic-tac-toe
def tictactoe_positions() -> list[LabelledPosition]:
    """Every reachable tic-tac-toe position in which some move changes the value (DFS order)."""
    game = get_game("tictactoe")
    exact = ExactScores(game)
    seen: set[tuple[int, int]] = set()
    out: list[LabelledPosition] = []
    stack = [(game.initial_state(), "")]
    while stack:
        state, text = stack.pop()
        key = (int(state[0]), int(state[1]))
        if key in seen or game.is_terminal(state):
            continue
        seen.add(key)
        scores = exact.move_scores(state)
        for a in np.flatnonzero(game.legal_mask(state)):
            stack.append((game.apply(state, int(a)), text + str(a + 1)))
        position = LabelledPosition("tictactoe", text, scores)
        if position.changes_value():
            out.append(position)
    return out


# ------------------------------------------------------------------------------ cache
def default_cache_dir() -> Path:
    """``$ALPHAZERO_CACHE``, else ``~/.cache/alphazero``."""
    return Path(os.environ.get("ALPHAZERO_CACHE", Path.home() / ".cache" / "alphazero"))


def save_positions(path: Path, positions: Sequence[LabelledPosition], comment: str = "") -> None:
    """One line each: ``moves score_1 ... score_A`` (``.`` for an illegal action)."""
    lines = [f"# {line}" for line in comment.splitlines()]
    lines += [" ".join([p.moves or "-"] + ["." if s is None else str(s) for s in p.scores])
              for p in positions]
    # A unique temporary name: two processes may extend the cache at once.
    atomic_write_text(path, "\n".join(lines) + "\n")


def load_positions(path: Path, game: str = "connect4") -> list[LabelledPosition]:
    out = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        try:
            scores = tuple(None if f == "." else int(f) for f in fields[1:])
        except ValueError:
            raise ValueError(f"{path}:{number}: bad score in {line!r}") from None
        out.append(LabelledPosition(game, "" if fields[0] == "-" else fields[0], scores))
    return out


def labelled_positions(game: Game | str, count: int = 1000, *, seed: int = 0,
                       cache_dir: Path | None = None, regenerate: bool = False,
                       progress: Callable[[int], None] | None = None) -> list[LabelledPosition]:
    """``count`` labelled positions of ``game`` (connect4 or tictactoe).

    Connect Four positions come from ``cache_dir / connect4_labelled_seed{seed}.txt``
    (default dir: ``default_cache_dir()``), generated or extended on first use; ``regenerate``
    solves them again. Tic-tac-toe gives a fixed sample (by ``seed``) of all positions.
    """
    name = game if isinstance(game, str) else game.name
    if name == "tictactoe":
        every = tictactoe_positions()
        if count >= len(every):
            return every
        keep = np.random.default_rng(seed).choice(len(every), size=count, replace=False)
        return [every[i] for i in sorted(keep)]
    if name != "connect4":
        raise ValueError(f"labelled positions exist for connect4 and tictactoe, not {name}")
    path = (cache_dir or default_cache_dir()) / f"connect4_labelled_seed{seed}.txt"
    cached = [] if regenerate or not path.is_file() else load_positions(path)
    if len(cached) < count:
        started = time.perf_counter()
        cached += generate_connect4(count - len(cached), seed=seed, start=len(cached),
                                    progress=progress)
        seconds = time.perf_counter() - started
        save_positions(path, cached, f"Connect Four positions labelled by Connect4Solver, seed "
                       f"{seed}: moves, then each column's Pons score ('.' full)\nlast "
                       f"extension: {seconds:.1f} s")
    return cached[:count]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate and cache solver-labelled Connect "
                                     "Four positions; print the time per position.")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--regenerate", action="store_true", help="solve them all again")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    positions = labelled_positions("connect4", args.count, seed=args.seed,
                                   cache_dir=args.cache_dir, regenerate=args.regenerate)
    seconds = time.perf_counter() - started
    values = np.array([p.value for p in positions])
    print(f"{len(positions)} positions in {seconds:.1f} s ({1000 * seconds / len(positions):.1f}"
          f" ms a position); won {np.mean(values > 0):.0%}, drawn {np.mean(values == 0):.0%}")


if __name__ == "__main__":
    main()
