"""A UCI chess engine around the batched search (``alphazero uci``): the protocol half.

Commands: ``uci``, ``isready``, ``ucinewgame``, ``setoption name N [value V]``,
``position startpos|fen FEN [moves ...]``, ``go`` (``nodes``, ``movetime``, ``wtime``/``btime``/
``winc``/``binc``/``movestogo``, ``depth``, ``mate``, ``infinite``, ``ponder``, ``searchmoves``),
``stop``, ``ponderhit``, ``quit``; ``debug`` and ``register`` are accepted and ignored, and so is
any unknown command. Bad input is reported as ``info string`` and never ends the engine.

This module reads commands, keeps the options and the position, and builds the network and its
search tree; alphazero/uci_search.py runs the searches (clock, info lines, ``bestmove``). The
network is loaded in the background after ``uci`` (and at the latest on ``isready`` or
``go``), so the handshake is instant. When a new position only adds moves to the one searched
before, the search tree keeps the subtree (PUCT and learned; Gumbel restarts every search).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any, TextIO

import chess

from alphazero.uci.network import EngineCache, default_search_settings
from alphazero.uci.search import (
    MAX_SIMULATIONS,
    GoLimits,
    SearchJob,
    SearchThread,
    time_budget,
    value_to_cp,
)
from alphazero.uci.tree import set_root

__all__ = ["ARMS", "GoLimits", "UCIEngine", "parse_go", "time_budget", "value_to_cp"]

ENGINE_NAME = "AlphaZero learned-search"
ENGINE_AUTHOR = "the alphazero-learned-search authors"
ARMS = ("puct", "gumbel", "learned")
MAX_MULTIPV = 256  # more than any chess position's legal moves (218)
_GO_NUMBERS = {"nodes", "movetime", "wtime", "btime", "winc", "binc", "movestogo", "depth",
               "mate"}
_GO_KEYWORDS = _GO_NUMBERS | {"infinite", "ponder", "searchmoves"}


def parse_go(tokens: list[str]) -> GoLimits:
    """GoLimits from the tokens after ``go``; raises ValueError for a bad number.

    ``searchmoves`` takes the tokens after it up to the next keyword (as text: the position
    decides whether they are legal). Unknown tokens are skipped.
    """
    limits = GoLimits()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in ("infinite", "ponder"):
            setattr(limits, token, True)
        elif token == "searchmoves":
            while i + 1 < len(tokens) and tokens[i + 1] not in _GO_KEYWORDS:
                limits.searchmoves.append(tokens[i + 1])
                i += 1
        elif token in _GO_NUMBERS:
            if i + 1 >= len(tokens):
                raise ValueError(f"go {token} needs a number")
            try:
                number = max(0, int(tokens[i + 1]))
            except ValueError:
                raise ValueError(f"go {token}: {tokens[i + 1]!r} is not an integer") from None
            i += 1
            if token in ("movetime", "wtime", "btime", "winc", "binc"):
                number /= 1000.0  # milliseconds
            elif token == "mate":
                number = max(1, number)
            setattr(limits, token, number)
        i += 1
    return limits


class UCIEngine:
    """The UCI loop: feed it lines with ``handle``; it writes replies to ``out``."""

    def __init__(self, out: TextIO, *, checkpoint: str | None = None, config: str = "chess",
                 overrides: Iterable[str] = (), threads: int = 1, backend: str | None = None):
        self.out = out
        self.config_name = config
        self.overrides = list(overrides)
        sims, arm = default_search_settings(config)
        self.options: dict[str, Any] = {
            "Checkpoint": checkpoint or "", "Simulations": sims, "Search": arm,
            "Threads": max(1, threads), "MoveOverhead": 100, "Ponder": False, "MultiPV": 1,
        }
        self._lock = threading.Lock()  # one writer at a time on ``out``
        # What loading says (which network, a fallback, an error) waits for the next ``go``:
        # after ``uci`` or ``isready`` a client expects only ``uciok`` / ``readyok``.
        self._held: list[str] = []
        self.engines = EngineCache(config, self.overrides, self._hold, backend=backend)
        self.board: chess.Board | None = chess.Board()
        self.search = SearchThread(self.send, self.options)

    # ------------------------------------------------------------------ output
    def send(self, line: str) -> None:
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    def info_string(self, text: str) -> None:
        self.send("info string " + " ".join(text.split()))

    def _hold(self, text: str) -> None:
        with self._lock:
            self._held.append(text)

    def _release(self) -> None:
        """Send the held messages (in reply to ``go``, where info lines are expected)."""
        with self._lock:
            held, self._held = self._held, []
        for text in held:
            self.info_string(text)

    # ------------------------------------------------------------------- loop
    def run(self, lines: Iterable[str]) -> None:
        """Handle lines until ``quit`` or end of input (which also stops a search)."""
        for line in lines:
            if not self.handle(line):
                return
        self.search.stop()

    def handle(self, line: str) -> bool:
        """Handle one command line; False after ``quit``."""
        tokens = line.strip().split()
        if not tokens:
            return True
        command, args = tokens[0], tokens[1:]
        try:
            if command == "quit":
                self.search.stop()
                return False
            if command == "uci":
                self._uci()
                self.search.run_later(self._load)  # so the first isready does not wait long
            elif command == "isready":
                self._isready()
            elif command == "ucinewgame":
                self.search.stop()
                if self.engines.engine is not None:
                    self.engines.engine.state = None
                self.board = chess.Board()
            elif command == "setoption":
                self.search.stop()
                self._setoption(args)
            elif command == "position":
                self.search.stop()
                self._position(args)
            elif command == "go":
                self.search.stop()
                self._go(args)
            elif command == "stop":
                self.search.stop()
            elif command == "ponderhit":
                self.search.ponderhit()
            # debug, register and anything else are ignored, as the protocol asks.
        except Exception as err:  # never let one line end the engine
            self.info_string(f"error in {command!r}: {type(err).__name__}: {err}")
        return True

    @property
    def searching(self) -> bool:
        return self.search.searching

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current search to end by itself; False on timeout."""
        return self.search.wait(timeout)

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
        self.send("option name Ponder type check default false")
        self.send(f"option name MultiPV type spin default 1 min 1 max {MAX_MULTIPV}")
        self.send("uciok")

    def _isready(self) -> None:
        """``readyok``, always: a network that cannot load is reported (at the next ``go``),
        not a hang. The network is loaded and warmed in the search thread, so the first
        ``go`` searches as fast as the later ones."""
        if not self.searching:
            self.search.call(self._load)
        self.send("readyok")

    def _load(self):
        """The search engine for the current options, or None (reported at the next ``go``)
        if it cannot load."""
        try:
            return self.engines.get(self.options)
        except Exception as err:
            self._hold(f"cannot load the network: {type(err).__name__}: {err}")
            return None

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
        elif key == "Ponder":  # the GUI says whether it will ask for pondering; nothing to do
            self.options[key] = value.lower() == "true"
        else:
            number = int(value)
            low = 0 if key == "MoveOverhead" else 1
            high = {"Simulations": MAX_SIMULATIONS, "Threads": 64, "MoveOverhead": 5000,
                    "MultiPV": MAX_MULTIPV}[key]
            if not low <= number <= high:
                raise ValueError(f"{key} must be in {low}..{high}, not {number}")
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

    def _go(self, args: list[str]) -> None:
        start = time.perf_counter()
        self._release()
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
        if board.is_game_over(claim_draw=False):
            self.info_string("the game is over in this position")
            self.send("bestmove 0000")
            return
        allowed = self._searchmoves(board, limits.searchmoves)
        engine = self._load()
        self._release()
        if engine is None:  # no network: still answer with a legal move
            self.send(f"bestmove {next(iter(board.legal_moves)).uci()}")
            return
        set_root(engine, board, allowed)
        # The clock runs from the command; info lines time the search itself.
        self.search.start(SearchJob(engine, board, limits, time.perf_counter(),
                                    clock_start=start))

    def _searchmoves(self, board: chess.Board, moves: list[str]) -> list[int] | None:
        """Actions of the legal ``searchmoves`` (None: search every move)."""
        from games.chess import encode_move

        actions = []
        for text in moves:
            try:
                move = chess.Move.from_uci(text)
            except ValueError:
                move = None
            if move is None or not board.is_legal(move):
                self.info_string(f"searchmoves: {text!r} is not a legal move here, ignored")
                continue
            actions.append(encode_move(move, board.turn))
        if moves and not actions:
            self.info_string("searchmoves: no legal move given, searching every move")
        return actions or None
