"""A UCI chess engine around the batched search (``alphazero uci``).

Commands: ``uci``, ``isready``, ``ucinewgame``, ``setoption name N [value V]``,
``position startpos|fen FEN [moves ...]``, ``go`` (``nodes``, ``movetime``, ``wtime``/``btime``/
``winc``/``binc``/``movestogo``, ``depth``, ``infinite``, ``ponder``), ``stop``, ``ponderhit``,
``quit``. Unknown commands are ignored; bad input is reported as ``info string`` and never ends
the engine.

A search runs in a background thread in chunks of simulations added to the same tree, so
``stop`` and the clock are checked between chunks (a few hundredths of a second apart). Every
search ends with ``bestmove``. The network is loaded on the first ``isready`` or ``go``, not on
``uci``, so the handshake is instant. Scores: ``cp = 90 * tan(1.5637 * value)`` (value in
[-1, 1] from the side to move), the usual map from an expected outcome to centipawns. ``depth``
is the length of the principal variation; ``go depth N`` searches until it is N long (or the
``Simulations`` option runs out).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, TextIO

import chess
import yaml

ENGINE_NAME = "AlphaZero learned-search"
ENGINE_AUTHOR = "the alphazero-learned-search authors"
ARMS = ("puct", "gumbel", "learned")
MAX_SIMULATIONS = 10_000_000
DEFAULT_NPS = 200.0  # simulations per second assumed before the first search measures it
# Networks load (torch.jit.trace) in one thread at a time: the tracer's state is global.
_LOAD_LOCK = threading.Lock()


def value_to_cp(value: float) -> int:
    """Centipawns for a value in [-1, 1] (side to move), clamped to +-10000."""
    value = max(-0.9999, min(0.9999, value))
    return int(max(-10000, min(10000, round(90 * math.tan(1.5637541897 * value)))))


@dataclass
class GoLimits:
    """What a ``go`` command asks for (times in seconds)."""

    nodes: int | None = None
    movetime: float | None = None
    depth: int | None = None
    infinite: bool = False
    ponder: bool = False
    wtime: float | None = None
    btime: float | None = None
    winc: float = 0.0
    binc: float = 0.0
    movestogo: int | None = None


def parse_go(tokens: list[str]) -> GoLimits:
    """GoLimits from the tokens after ``go``; raises ValueError for a bad number."""
    limits = GoLimits()
    ms = {"movetime", "wtime", "btime", "winc", "binc"}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in ("infinite", "ponder"):
            setattr(limits, token, True)
        elif token in ms | {"nodes", "depth", "movestogo", "mate"}:
            if i + 1 >= len(tokens):
                raise ValueError(f"go {token} needs a number")
            try:
                number = int(tokens[i + 1])
            except ValueError:
                raise ValueError(f"go {token}: {tokens[i + 1]!r} is not an integer") from None
            i += 1
            if token in ms:
                setattr(limits, token, max(0, number) / 1000.0)
            elif token == "mate":
                limits.depth = 2 * max(1, number) - 1
            else:
                setattr(limits, token, max(0, number))
        elif token == "searchmoves":
            break  # not supported: the rest are moves, searched among all moves
        i += 1
    return limits


def time_budget(limits: GoLimits, turn: chess.Color, overhead: float, ply: int
                ) -> tuple[float | None, float | None]:
    """(target seconds, hard limit seconds) for this move; None when there is no clock.

    With a clock: a share of the remaining time (over ``movestogo``, or an estimate of the moves
    left) plus most of the increment, never more than 40% of what is left, less the overhead.
    """
    if limits.movetime is not None:
        spend = max(0.01, limits.movetime - overhead)
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


def _default_search_settings(config_name: str) -> tuple[int, str]:
    """(simulations, arm) from the config's ``search`` section, read without loading torch
    (``alphazero.config`` imports it) so that the ``uci`` handshake answers at once."""
    path = Path(config_name)
    if path.suffix not in (".yaml", ".yml") and not path.exists():
        path = Path(__file__).resolve().parent.parent / "configs" / f"{config_name}.yaml"
    try:
        data = yaml.safe_load(path.read_text()) or {}
        search = data.get("search") or {}
        return int(search.get("simulations", 800)), str(search.get("arm", "puct"))
    except (OSError, yaml.YAMLError, ValueError, TypeError, AttributeError):
        return 800, "puct"


class UCIEngine:
    """The UCI loop: feed it lines with ``handle``; it writes replies to ``out``."""

    def __init__(self, out: TextIO, *, checkpoint: str | None = None, config: str = "chess",
                 overrides: Iterable[str] = (), threads: int = 1):
        self.out = out
        self.config_name = config
        self.overrides = list(overrides)
        sims, arm = _default_search_settings(config)
        self.options: dict[str, object] = {
            "Checkpoint": checkpoint or "", "Simulations": sims, "Search": arm,
            "Threads": max(1, threads), "MoveOverhead": 100,
        }
        self._lock = threading.Lock()  # one writer at a time on ``out``
        self._loaded_key: tuple | None = None
        self._evaluate = None
        self._engine = None  # play.SearchEngine
        self._engine_key: tuple | None = None
        self.board: chess.Board | None = chess.Board()
        # One long-lived search thread: torch's intra-op thread settings are per thread, and a
        # fresh thread per search would pay for a new OpenMP pool every move.
        self._jobs: queue.Queue = queue.Queue()
        self._worker: threading.Thread | None = None
        self._active = False  # a search was started and its bestmove not yet awaited
        self._done = threading.Event()
        self._stop = threading.Event()
        self._ponderhit = threading.Event()
        self.nps = DEFAULT_NPS

    # ------------------------------------------------------------------ output
    def send(self, line: str) -> None:
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    def info_string(self, text: str) -> None:
        self.send("info string " + " ".join(text.split()))

    # ------------------------------------------------------------------- loop
    def run(self, lines: Iterable[str]) -> None:
        """Handle lines until ``quit`` or end of input (which also stops a search)."""
        for line in lines:
            if not self.handle(line):
                return
        self.stop_search()

    def handle(self, line: str) -> bool:
        """Handle one command line; False after ``quit``."""
        tokens = line.strip().split()
        if not tokens:
            return True
        command, args = tokens[0], tokens[1:]
        try:
            if command == "quit":
                self.stop_search()
                return False
            if command == "uci":
                self._uci()
                # Load the network meanwhile, so the first isready or go does not wait long.
                self._start_worker()
                self._jobs.put("preload")
            elif command == "isready":
                if not self.searching:
                    self._ensure_engine()
                self.send("readyok")
            elif command == "ucinewgame":
                self.stop_search()
                if self._engine is not None:
                    self._engine.state = None
                self.board = chess.Board()
            elif command == "setoption":
                self.stop_search()
                self._setoption(args)
            elif command == "position":
                self.stop_search()
                self._position(args)
            elif command == "go":
                self.stop_search()
                self._go(args)
            elif command == "stop":
                self.stop_search()
            elif command == "ponderhit":
                self._ponderhit.set()
            elif command == "debug" or command == "register":
                pass
            # Anything else is ignored, as the protocol asks.
        except Exception as err:  # never let one line end the engine
            self.info_string(f"error in {command!r}: {type(err).__name__}: {err}")
        return True

    @property
    def searching(self) -> bool:
        return self._active and not self._done.is_set()

    def stop_search(self) -> None:
        """Stop a running search and wait for its ``bestmove``."""
        if self._active:
            self._stop.set()
            self._ponderhit.set()
            self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current search to end by itself; False on timeout."""
        if self._active and not self._done.wait(timeout):
            return False
        self._active = False
        return True

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, daemon=True, name="uci-search")
            self._worker.start()

    def _work(self) -> None:
        import torch

        while True:
            job = self._jobs.get()
            torch.set_num_threads(int(self.options["Threads"]))
            if job == "preload":
                try:
                    self._ensure_engine()
                except Exception as err:
                    self.info_string(f"cannot load the network: {type(err).__name__}: {err}")
                continue
            try:
                self._search(*job)
            finally:
                self._done.set()

    # --------------------------------------------------------------- commands
    def _uci(self) -> None:
        o = self.options
        self.send(f"id name {ENGINE_NAME}")
        self.send(f"id author {ENGINE_AUTHOR}")
        self.send(f"option name Checkpoint type string default {o['Checkpoint'] or '<shipped>'}")
        self.send(f"option name Simulations type spin default {o['Simulations']} min 1 max "
                  f"{MAX_SIMULATIONS}")
        self.send(f"option name Search type combo default {o['Search']} "
                  + " ".join(f"var {arm}" for arm in ARMS))
        self.send(f"option name Threads type spin default {o['Threads']} min 1 max 64")
        self.send(f"option name MoveOverhead type spin default {o['MoveOverhead']} min 0 "
                  "max 5000")
        self.send("uciok")

    def _setoption(self, args: list[str]) -> None:
        if not args or args[0] != "name":
            raise ValueError("usage: setoption name NAME [value VALUE]")
        rest = " ".join(args[1:])
        name, _, value = rest.partition(" value ")
        if rest.endswith(" value"):
            name, value = rest[: -len(" value")], ""
        name, value = name.strip(), value.strip()
        key = next((k for k in self.options if k.lower() == name.lower()), None)
        if key is None:
            self.info_string(f"unknown option {name!r}")
            return
        if key == "Checkpoint":
            self.options[key] = "" if value in ("", "<shipped>", "<empty>") else value
        elif key == "Search":
            if value.lower() not in ARMS:
                raise ValueError(f"Search must be one of {', '.join(ARMS)}, not {value!r}")
            self.options[key] = value.lower()
        else:
            number = int(value)
            low = 0 if key == "MoveOverhead" else 1
            if number < low:
                raise ValueError(f"{key} must be >= {low}, not {number}")
            self.options[key] = number

    def _position(self, args: list[str]) -> None:
        from games.chess import parse_chess_position

        self.board = None
        text = " ".join(args)
        if not text:
            raise ValueError("usage: position startpos|fen FEN [moves ...]")
        try:
            self.board = parse_chess_position(text)
        except ValueError as err:
            self.info_string(f"invalid position: {err}")

    # ---------------------------------------------------------------- engines
    def _ensure_engine(self):
        """The SearchEngine for the current options, (re)building what changed."""
        with _LOAD_LOCK:
            return self._build_engine()

    def _build_engine(self):
        import dataclasses

        o = self.options
        load_key = (o["Checkpoint"], o["Threads"])
        if self._loaded_key != load_key:
            from alphazero.config import load_config
            from alphazero.models import resolve_model
            from alphazero.network import make_evaluate_fn
            from games import get_game

            config = load_config(self.config_name, self.overrides)
            game = get_game("chess")
            model, source = resolve_model(game, config.network, o["Checkpoint"] or None)
            self._evaluate = make_evaluate_fn(model, num_threads=int(o["Threads"]))
            self._base_params = config.search
            self._loaded_key = load_key
            self._engine_key = None
            self.info_string(source)
        engine_key = (load_key, o["Search"])
        if self._engine_key != engine_key:
            from alphazero.cli_play import learned_weights_for
            from alphazero.play import SearchEngine
            from games.chess import GAME

            learned = None
            if o["Search"] == "learned":
                try:
                    learned = learned_weights_for(GAME, dataclasses.replace(
                        self._base_params, arm="learned"))
                except Exception as err:
                    o["Search"] = self._base_params.arm
                    self.info_string(f"{err}; using {o['Search']}")
                    return self._build_engine()
            params = dataclasses.replace(self._base_params, arm=str(o["Search"]))
            self._engine = SearchEngine(GAME, self._evaluate, params, learned=learned)
            self._engine_key = engine_key
            # Warm up (Numba kernels, the traced network) so the first timed move is not slow.
            self._engine.set_position(chess.Board())
            self._engine.search(params.leaves_per_step)
            self._engine.state = None
        return self._engine

    def _set_root(self, engine, board: chess.Board) -> None:
        """Point the engine at ``board``, reusing the tree when it only added moves."""
        old = engine.state
        if old is not None and len(board.move_stack) >= len(old.move_stack) \
                and board.move_stack[:len(old.move_stack)] == old.move_stack \
                and board.root() == old.root() and len(board.move_stack) - len(old.move_stack) <= 4:
            from games.chess import encode_move

            replay = old
            try:
                for move in board.move_stack[len(old.move_stack):]:
                    replay = engine.play(encode_move(move, replay.turn))
                return
            except ValueError:
                pass
        engine.set_position(board.copy())

    # ------------------------------------------------------------------- go
    def _go(self, args: list[str]) -> None:
        start = time.perf_counter()
        try:
            limits = parse_go(args)
        except ValueError as err:
            self.info_string(str(err))
            limits = GoLimits()
        board = self.board
        if board is None:
            self.info_string("no valid position: send 'position startpos' or 'position fen ...'")
            self.send("bestmove 0000")
            return
        if board.is_game_over(claim_draw=False) or not any(board.legal_moves):
            self.info_string("the game is over in this position")
            self.send("bestmove 0000")
            return
        engine = self._ensure_engine()
        self._set_root(engine, board)
        self._stop.clear()
        self._ponderhit.clear()
        self._done.clear()
        self._start_worker()
        self._active = True
        self._jobs.put((engine, board, limits, start))

    def _search(self, engine, board: chess.Board, limits: GoLimits, start: float) -> None:
        from games.chess import GAME

        overhead = float(self.options["MoveOverhead"]) / 1000.0
        ply = len(board.move_stack)
        target, hard = time_budget(limits, board.turn, overhead, ply)
        if limits.ponder:
            # Pondering waits for the opponent's move; the clock starts at ``ponderhit``
            # (after ``stop`` instead, answer at once).
            self._ponderhit.wait()
            start = time.perf_counter()
            if self._stop.is_set():
                target = hard = 0.0
        sims_cap = int(self.options["Simulations"])
        if limits.nodes is not None:
            sims_cap = max(1, limits.nodes)
        elif limits.infinite or target is not None:
            sims_cap = MAX_SIMULATIONS
        done = 0
        analysis = None
        last_info = 0.0
        reported = -1  # simulations at the last info line
        try:
            while True:
                chunk = self._chunk_size(engine, target, time.perf_counter() - start,
                                         sims_cap - done)
                t0 = time.perf_counter()
                analysis = engine.search(chunk)
                spent = time.perf_counter() - t0
                done += chunk
                if spent > 0 and chunk >= engine.params.leaves_per_step:
                    self.nps = 0.7 * self.nps + 0.3 * (chunk / spent)
                elapsed = time.perf_counter() - start
                if elapsed - last_info >= 0.5 or last_info == 0.0:
                    self._info(board, analysis, done, elapsed)
                    last_info, reported = elapsed, done
                if self._finished(engine, limits, analysis, done, sims_cap, elapsed, chunk,
                                  target, hard):
                    break
        except Exception as err:
            self.info_string(f"search failed: {type(err).__name__}: {err}")
        if limits.infinite:
            self._stop.wait()  # the protocol: no bestmove before stop in infinite mode
        if analysis is None or analysis.action < 0:
            move = next(iter(board.legal_moves))
            self.send(f"bestmove {move.uci()}")
            return
        if reported != done:
            self._info(board, analysis, done, time.perf_counter() - start)
        line = self._pv_moves(board, analysis.pv, GAME)
        best = line[0] if line else next(iter(board.legal_moves)).uci()
        self.send(f"bestmove {best}" + (f" ponder {line[1]}" if len(line) > 1 else ""))

    def _chunk_size(self, engine, target: float | None, elapsed: float, left: int) -> int:
        """Simulations for the next run: ~50 ms of search, not past the time target."""
        if not engine.chunked:  # Gumbel restarts every run: one run sized by the clock
            if target is None:
                return max(1, left)
            return max(1, min(left, int(self.nps * max(0.0, target - elapsed) * 0.7)))
        chunk = max(engine.params.leaves_per_step, min(512, int(self.nps * 0.05)))
        if target is not None:  # do not overshoot the clock
            chunk = min(chunk, max(1, int(self.nps * (target - elapsed) * 0.8)))
        return max(1, min(chunk, left))

    def _finished(self, engine, limits: GoLimits, analysis, done: int, sims_cap: int,
                  elapsed: float, chunk: int, target: float | None, hard: float | None) -> bool:
        """Whether the search should end after this chunk."""
        if self._stop.is_set() or not engine.chunked:
            return True
        if limits.infinite and not limits.nodes:
            return False
        if done >= sims_cap:
            return True
        if limits.depth is not None and len(analysis.pv) >= limits.depth:
            return True
        return target is not None and (elapsed >= target or elapsed + chunk / self.nps > hard)

    @staticmethod
    def _pv_moves(board: chess.Board, actions: list[int], game) -> list[str]:
        moves = []
        state = board
        for action in actions:
            try:
                moves.append(game.format_move(state, action))
                state = game.apply(state, action)
            except ValueError:
                break
        return moves

    def _info(self, board: chess.Board, analysis, nodes: int, elapsed: float) -> None:
        from games.chess import GAME

        pv = self._pv_moves(board, analysis.pv, GAME)
        nps = int(nodes / elapsed) if elapsed > 0 else 0
        self.send(f"info depth {max(1, len(pv))} nodes {nodes} nps {nps} time "
                  f"{int(elapsed * 1000)} score cp {value_to_cp(analysis.value)} pv "
                  + " ".join(pv))
