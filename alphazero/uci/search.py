"""The searching half of the UCI engine: limits and the clock, the search thread, info lines.

A search runs in one long-lived background thread, in chunks of simulations added to the same
tree (PUCT, learned), so ``stop``, ``ponderhit`` and the clock are checked a few hundredths of a
second apart. Gumbel restarts its tree on every run, so it searches once, sized by the clock.

Scores: ``score mate N`` when the tree proves a forced mate (see alphazero/uci_tree.py), else
``score cp`` from the value ``q`` of the chosen move (the root's mean value before any move
has a visit): ``cp = 90 * tan(1.5637 * q)``, q in [-1, 1] from the side to move.
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import chess

from alphazero.uci.tree import WIN, RootReport, principal_line, read_root
from search.params import MAX_SIMULATIONS

# MAX_SIMULATIONS (search.params; also the Simulations option's maximum) caps a search
# without a node limit (infinite, ponder, a long clock); then the search waits. A chess tree
# takes about 1.1-1.3 kB a simulation (32 bytes an edge, ~30-35 legal moves a node, and a
# 104-byte packed position: BENCHMARKS.md, "Chess tree memory"), so the cap is about 1.25-1.4
# GB (1.7 GB at 45 moves a node), and ~1.8 GB for a moment when the edge pool doubles (the
# copy holds both); at ~1,800 simulations/s (ONNX Runtime) that is ten minutes of search.
# It was 300,000 when a node kept a whole board with its move stack (~6.7 kB).
DEFAULT_NPS = 200.0  # simulations per second assumed before the first search measures it
MOVETIME_MARGIN = 0.005  # seconds of ``go movetime`` kept for sending ``bestmove``
INFO_INTERVAL = 0.5  # seconds between info lines
REPORT_INTERVAL = 0.1  # seconds between reading the tree's proof and visits on a clock


def value_to_cp(value: float) -> int:
    """Centipawns for a value in [-1, 1] (side to move), clamped to +-10000."""
    value = max(-0.9999, min(0.9999, value))
    return int(max(-10000, min(10000, round(90 * math.tan(1.5637541897 * value)))))


@dataclass
class GoLimits:
    """What a ``go`` command asks for (times in seconds, moves in UCI text)."""

    nodes: int | None = None
    movetime: float | None = None
    depth: int | None = None
    mate: int | None = None
    infinite: bool = False
    ponder: bool = False
    wtime: float | None = None
    btime: float | None = None
    winc: float = 0.0
    binc: float = 0.0
    movestogo: int | None = None
    searchmoves: list[str] = field(default_factory=list)


def time_budget(limits: GoLimits, turn: chess.Color, overhead: float, ply: int
                ) -> tuple[float | None, float | None]:
    """(target seconds, hard limit seconds) for this move; None when there is no clock.

    ``movetime`` is the time to search, used in full but for ``MOVETIME_MARGIN`` (as Stockfish
    reads it: the move overhead guards a clock, and a fixed time per move has none to lose).
    With a clock: a share of the remaining time (over ``movestogo``, or an estimate of the moves
    left) plus most of the increment, never more than 40% of what is left, less the overhead.
    """
    if limits.movetime is not None:
        spend = max(0.005, limits.movetime - MOVETIME_MARGIN)
        return spend, spend
    remaining = limits.wtime if turn == chess.WHITE else limits.btime
    if remaining is None:
        return None, None
    increment = limits.winc if turn == chess.WHITE else limits.binc
    moves_left = limits.movestogo or max(20, 50 - ply // 2)
    usable = max(0.0, remaining - overhead)
    hard = max(0.005, min(usable * 0.4, usable - 0.05) if usable > 0.1 else usable * 0.3)
    target = min(hard, usable / (moves_left + 1) + 0.75 * increment)
    return max(0.005, target), hard


@dataclass
class SearchJob:
    """One ``go``: the engine (a play.SearchEngine already at ``board``), what to search for,
    and the running totals of the search."""

    engine: Any
    board: chess.Board
    limits: GoLimits
    start: float  # perf_counter when the search began (info lines count time from here)
    clock_start: float = 0.0  # perf_counter when the clock started (go, or ponderhit)
    done: int = 0  # simulations run by this search
    analysis: Any = None  # the last play.Analysis
    report: RootReport = field(default_factory=RootReport)
    last_info: float = -1.0  # elapsed seconds at the last info line
    reported: int = -1  # ``done`` at the last info line
    last_report: float = 0.0  # perf_counter when ``report`` was read

    def __post_init__(self) -> None:
        self.clock_start = self.clock_start or self.start


class SearchThread:
    """Runs ``go`` searches in one background thread and reports through ``send(line)``.

    One long-lived thread: torch's intra-op thread settings are per thread, and a fresh thread
    per search would pay for a new OpenMP pool every move.
    """

    def __init__(self, send: Callable[[str], None], options: dict[str, Any]) -> None:
        self.send = send
        self.options = options  # the engine's UCI options, read at each search
        self.nps = DEFAULT_NPS
        self._jobs: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._active = False  # a search was started and its bestmove not yet awaited
        self._done = threading.Event()
        self._stop = threading.Event()
        self._ponderhit = threading.Event()

    # -------------------------------------------------------------- control
    @property
    def searching(self) -> bool:
        return self._active and not self._done.is_set()

    def run_later(self, task: Callable[[], None]) -> None:
        """Run ``task`` in the search thread (e.g. load the network while the GUI waits)."""
        self._start()
        self._jobs.put(task)

    def start(self, job: SearchJob) -> None:
        self._stop.clear()
        self._ponderhit.clear()
        self._done.clear()
        self._active = True
        self._start()
        self._jobs.put(job)

    def stop(self) -> None:
        """Stop a running search (ponder included) and wait for its ``bestmove``."""
        if self._active:
            self._stop.set()
            self.wait()

    def ponderhit(self) -> None:
        self._ponderhit.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current search to end by itself; False on timeout."""
        if self._active and not self._done.wait(timeout):
            return False
        self._active = False
        return True

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, daemon=True, name="uci-search")
            self._thread.start()

    def call(self, task: Callable[[], Any]) -> Any:
        """Run ``task`` in the search thread and wait for its result (``isready`` loads and
        warms the network there, in the thread whose first search would otherwise pay)."""
        done, box = threading.Event(), []

        def run() -> None:
            try:
                box.append(task())
            finally:
                done.set()

        self.run_later(run)
        done.wait()
        return box[0] if box else None

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            # torch only if a backend loaded it: importing it here (seconds) would hold up
            # the first search of an ONNX Runtime or numpy engine.
            torch = sys.modules.get("torch")
            if torch is not None:
                torch.set_num_threads(int(self.options["Threads"]))
            if not isinstance(job, SearchJob):
                job()
                continue
            try:
                self._search(job)
            except Exception as err:  # a bestmove is owed whatever happens
                self.send(f"info string search failed: {type(err).__name__}: {err}")
                self.send(f"bestmove {next(iter(job.board.legal_moves)).uci()}")
            finally:
                self._done.set()

    # --------------------------------------------------------------- search
    def _search(self, job: SearchJob) -> None:
        limits = job.limits
        if limits.ponder:
            # Search on the opponent's time until ponderhit (then the clock starts) or stop
            # (then answer at once).
            self._run(job, MAX_SIMULATIONS, None, None,
                      lambda: self._stop.is_set() or self._ponderhit.is_set())
            while not (self._stop.is_set() or self._ponderhit.wait(0.05)):
                pass  # the tree is full before ponderhit or stop came
            job.clock_start = time.perf_counter()
        if not self._stop.is_set() or job.analysis is None:
            overhead = float(self.options["MoveOverhead"]) / 1000.0
            target, hard = time_budget(limits, job.board.turn, overhead, job.board.ply())
            if limits.nodes is not None:
                cap = max(1, limits.nodes)
            elif limits.infinite or target is not None:
                cap = MAX_SIMULATIONS
            else:
                cap = int(self.options["Simulations"])
            self._run(job, job.done + cap, target, hard, lambda: self._finished(job, target))
        if limits.infinite:
            self._stop.wait()  # the protocol: no bestmove before stop in infinite mode
        self._bestmove(job)

    def _run(self, job: SearchJob, cap: int, target: float | None, hard: float | None,
             finished: Callable[[], bool]) -> None:
        """Search in chunks until ``finished()``, ``cap`` simulations in all, or ``hard``.
        At least one chunk runs, even after an early ``stop``, so there is a searched move."""
        engine = job.engine
        while job.done < cap and (job.analysis is None or not self._stop.is_set()):
            clock = time.perf_counter() - job.clock_start
            chunk = self._chunk_size(job, target, clock, cap - job.done)
            t0 = time.perf_counter()
            job.analysis = engine.search(chunk)
            now = time.perf_counter()
            job.done += chunk
            if now > t0 and chunk >= engine.params.leaves_per_step:
                self.nps = 0.7 * self.nps + 0.3 * (chunk / (now - t0))
            info_due = now - job.start - job.last_info >= INFO_INTERVAL or job.last_info < 0
            if info_due or job.limits.mate is not None or (
                    target is not None and now - job.last_report >= REPORT_INTERVAL):
                job.report = read_root(engine.mcts)
                job.last_report = now
            if info_due:
                self._info(job, now - job.start)
            if not engine.chunked or finished():
                return
            # The next chunk is sized to the time left: stop only when even one more
            # simulation would pass the hard limit (the size of this chunk would end a
            # ``movetime`` search up to a chunk, ~50 ms, early).
            if hard is not None and now - job.clock_start + 1.0 / self.nps > hard:
                return

    def _chunk_size(self, job: SearchJob, target: float | None, elapsed: float, left: int
                    ) -> int:
        """Simulations for the next run: ~50 ms of search, not past the time target."""
        engine = job.engine
        if not engine.chunked:  # Gumbel restarts every run: one run, sized by the clock
            if target is not None:
                return max(1, min(left, int(self.nps * max(0.0, target - elapsed) * 0.7)))
            return left if job.limits.nodes is not None else int(self.options["Simulations"])
        chunk = max(engine.params.leaves_per_step, min(512, int(self.nps * 0.05)))
        if target is not None:  # do not overshoot the clock
            chunk = min(chunk, max(1, int(self.nps * (target - elapsed) * 0.8)))
        return max(1, min(chunk, left))

    def _finished(self, job: SearchJob, target: float | None) -> bool:
        """Whether a normal (not pondering) search may end now."""
        limits, report = job.limits, job.report
        if limits.infinite:
            return False
        if limits.mate is not None and report.mate is not None and 0 < report.mate <= \
                limits.mate:  # the report is fresh after every chunk (see _run)
            return True
        if limits.depth is not None and len(job.analysis.pv) >= limits.depth:
            return True
        if target is None:
            return False
        elapsed = time.perf_counter() - job.clock_start
        if elapsed >= target:
            return True
        return bool(limits.movetime is None and self._decided(job, target - elapsed))

    def _decided(self, job: SearchJob, seconds_left: float) -> bool:
        """Whether more time cannot change the move: one legal move, a proven mate, or a lead
        in visits the runner-up cannot make up at the current speed."""
        report = job.report
        if report.status == WIN or len(report.visits) == 1:
            return True
        counts = sorted(report.visits.values(), reverse=True)
        return len(counts) > 1 and counts[0] - counts[1] > self.nps * seconds_left

    # --------------------------------------------------------------- output
    @staticmethod
    def _pv(job: SearchJob) -> list[str]:
        """The principal variation in UCI text, starting with the move to play: the proven
        line when there is one, else the most visited line after the search's choice."""
        if job.report.line:
            actions = job.report.line
        elif job.analysis is not None and job.analysis.action >= 0:
            actions = principal_line(job.engine.mcts, job.report.choose(job.analysis.action))
        else:
            return []
        return SearchThread._line(job, actions)

    @staticmethod
    def _line(job: SearchJob, actions: list[int]) -> list[str]:
        """``actions`` from the root in UCI text, up to the first that is not legal."""
        moves = []
        board = job.board.copy(stack=False)
        for action in actions:
            try:
                move = _decode(board, action)
            except ValueError:
                break
            moves.append(move.uci())
            board.push(move)
        return moves

    def _info(self, job: SearchJob, elapsed: float) -> None:
        """One ``info`` line, or with ``MultiPV`` N > 1 one per root move (``multipv 1`` the
        move to play, then the other visited moves by visits), as GUIs expect."""
        pv = self._pv(job)
        mate = job.report.mate
        chosen = job.report.choose(job.analysis.action)
        if mate is not None:
            score = f"mate {mate}"
        else:
            score = f"cp {value_to_cp(job.report.q.get(chosen, job.analysis.value))}"
        nps = int(job.done / elapsed) if elapsed > 0 else 0
        head = f"nodes {job.done} nps {nps} time {int(elapsed * 1000)}"
        lines = int(self.options.get("MultiPV", 1))
        if lines <= 1:
            self.send(f"info depth {max(1, len(pv))} {head} score {score} pv " + " ".join(pv))
        else:
            self.send(f"info depth {max(1, len(pv))} multipv 1 {head} score {score} pv "
                      + " ".join(pv))
            visits = job.report.visits
            others = sorted((a for a in job.report.q if a != chosen),
                            key=lambda a: -visits.get(a, 0))[: lines - 1]
            for rank, action in enumerate(others, start=2):
                line = self._line(job, principal_line(job.engine.mcts, action))
                if line:
                    self.send(f"info depth {len(line)} multipv {rank} {head} score cp "
                              f"{value_to_cp(job.report.q[action])} pv " + " ".join(line))
        job.last_info, job.reported = elapsed, job.done

    def _bestmove(self, job: SearchJob) -> None:
        board = job.board
        pv: list[str] = []
        if job.analysis is not None and job.analysis.action >= 0:
            job.report = read_root(job.engine.mcts)
            if job.reported != job.done:
                self._info(job, time.perf_counter() - job.start)
            pv = self._pv(job)
        best = pv[0] if pv else next(iter(board.legal_moves)).uci()
        self.send(f"bestmove {best}" + (f" ponder {pv[1]}" if len(pv) > 1 else ""))


def _decode(board: chess.Board, action: int) -> chess.Move:
    """The legal move of ``action`` on ``board``; ValueError otherwise."""
    from games.chess import decode_action

    move = decode_action(board, action)
    if not board.is_legal(move):
        raise ValueError(f"action {action} is illegal here")
    return move
