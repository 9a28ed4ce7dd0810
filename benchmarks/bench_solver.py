"""Benchmark the Connect Four solver on Pascal Pons' test sets.

Solves every position of each set, checks the score against the file and
prints, per file, the positions solved, how many agree, the mean wall and CPU
time per position and the mean number of negamax nodes, then a Markdown table.

The transposition table is cleared before each file and kept across the
positions of a file (as when labelling many positions); ``--reset-each``
clears it before every position instead. The beginning sets (L1) take seconds
to minutes a position, so ``--max-positions`` and ``--time-limit`` cap them.

Example:
  python benchmarks/bench_solver.py --files Test_L3_R1 Test_L2_R1 Test_L2_R2
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

from games.connect4_solver import DEFAULT_TABLE_BITS, Connect4Solver

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "connect4"
ALL_FILES = ("Test_L3_R1", "Test_L2_R1", "Test_L2_R2", "Test_L1_R1", "Test_L1_R2", "Test_L1_R3")


@dataclass(frozen=True)
class FileResult:
    """Totals for one benchmark file."""

    name: str
    available: int  # positions in the file
    solved: int
    agreed: int
    wall_seconds: float
    cpu_seconds: float
    nodes: int

    @property
    def mean_ms(self) -> float:
        return 1000 * self.wall_seconds / max(self.solved, 1)

    @property
    def mean_cpu_ms(self) -> float:
        return 1000 * self.cpu_seconds / max(self.solved, 1)

    @property
    def mean_nodes(self) -> float:
        return self.nodes / max(self.solved, 1)


def load_positions(path: Path) -> list[tuple[str, int]]:
    """(moves, score) pairs, one per non-empty line of ``path``."""
    pairs = []
    for line in path.read_text().splitlines():
        if line.strip():
            moves, score = line.split()
            pairs.append((moves, int(score)))
    return pairs


def run_file(
    solver: Connect4Solver,
    path: Path,
    *,
    max_positions: int | None,
    time_limit: float | None,
    reset_each: bool,
) -> FileResult:
    """Solve the positions of ``path`` in order until a limit is reached."""
    positions = load_positions(path)
    solver.reset()
    solved = agreed = nodes = 0
    wall = cpu = 0.0
    for moves, expected in positions[:max_positions]:
        if time_limit is not None and wall >= time_limit:
            break
        if reset_each:
            solver.reset()
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        score = solver.solve(moves)
        wall += time.perf_counter() - wall_start
        cpu += time.process_time() - cpu_start
        solved += 1
        nodes += solver.node_count
        if score == expected:
            agreed += 1
        else:
            print(f"  MISMATCH {path.name}: {moves} solved {score}, expected {expected}")
    return FileResult(path.name, len(positions), solved, agreed, wall, cpu, nodes)


def markdown_table(results: list[FileResult]) -> str:
    lines = [
        "| file | positions | agree | mean time (ms) | mean CPU (ms) | mean nodes |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        positions = f"{r.solved}" if r.solved == r.available else f"{r.solved} of {r.available}"
        lines.append(
            f"| {r.name} | {positions} | {r.agreed} | {r.mean_ms:.3f} | {r.mean_cpu_ms:.3f} "
            f"| {r.mean_nodes:,.0f} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="directory holding the Test_L*_R* files",
    )
    parser.add_argument(
        "--files", nargs="+", default=list(ALL_FILES), metavar="NAME", help="files to run, in order"
    )
    parser.add_argument(
        "--max-positions",
        type=int,
        default=None,
        help="at most this many positions from each L1 (beginning) file",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="stop each L1 file once its solving time passes this many seconds",
    )
    parser.add_argument(
        "--table-bits",
        type=int,
        default=DEFAULT_TABLE_BITS,
        help="transposition table of 2**bits slots of 8 bytes",
    )
    parser.add_argument(
        "--reset-each",
        action="store_true",
        help="clear the transposition table before every position",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    solver = Connect4Solver(table_bits=args.table_bits)
    solver.solve("445566")  # load or compile the kernels outside the timings
    results = []
    for name in args.files:
        limited = name.startswith("Test_L1")
        result = run_file(
            solver,
            args.data_dir / name,
            max_positions=args.max_positions if limited else None,
            time_limit=args.time_limit if limited else None,
            reset_each=args.reset_each,
        )
        results.append(result)
        print(
            f"{name}: {result.solved}/{result.available} positions, {result.agreed} agree, "
            f"mean {result.mean_ms:.3f} ms (CPU {result.mean_cpu_ms:.3f} ms), "
            f"mean nodes {result.mean_nodes:,.0f}",
            flush=True,
        )
    print()
    print(markdown_table(results))


if __name__ == "__main__":
    main()
