"""The network and search tree behind the UCI engine, (re)built when the options change.

Loading is the slow part (reading the checkpoint, tracing the network, compiling the Numba
kernels), so ``EngineCache`` keeps the last network and search engine and rebuilds only what
the ``Checkpoint``, ``Threads`` or ``Search`` options changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chess

from alphazero.config import load_config, read_yaml
from alphazero.play.engine import SearchEngine
from alphazero.searcher import SearchSetup, search_setup
from alphazero.uci.tree import read_root
from games.chess import GAME

# Networks load (torch.jit.trace) in one thread at a time: the tracer's state is global.
_LOAD_LOCK = threading.Lock()


def default_search_settings(config_name: str) -> tuple[int, str]:
    """(simulations, arm) from the config's ``search`` section, read without loading torch
    (``alphazero.config`` imports it) so that the ``uci`` handshake answers at once."""
    path = Path(config_name)
    if path.suffix not in (".yaml", ".yml") and not path.exists():
        path = Path(__file__).resolve().parent.parent / "configs" / f"{config_name}.yaml"
    try:
        data = read_yaml(path) or {}
        search = data.get("search") or {}
        return int(search.get("simulations", 800)), str(search.get("arm", "puct"))
    except (ValueError, TypeError, AttributeError):  # ConfigError: load_config says it
        return 800, "puct"


class EngineCache:
    """Builds the ``play.SearchEngine`` (of chess) for the
    current UCI options; ``say`` reports which network was loaded and any fallback."""

    def __init__(self, config_name: str, overrides: list[str], say: Callable[[str], None], *,
                 backend: str | None = None):
        self.config_name = config_name
        self.backend = backend
        self.overrides = overrides
        self.say = say
        self.engine: Any = None
        self._setup: SearchSetup | None = None
        self._loaded_key: tuple | None = None
        self._engine_key: tuple | None = None

    def get(self, options: dict[str, Any]) -> Any:
        """The engine for ``options`` (which may be changed: an unavailable ``learned`` arm
        falls back to the config's); raises what loading the network raises."""
        with _LOAD_LOCK:
            return self._build(options)

    def _build(self, o: dict[str, Any]) -> Any:
        load_key = (o["Checkpoint"], o["Threads"])
        if self._loaded_key != load_key:
            config = load_config(self.config_name, self.overrides)
            self._setup = search_setup(GAME, config.network, config.search,
                                       checkpoint=o["Checkpoint"] or None,
                                       backend=self.backend or config.backend,
                                       num_threads=int(o["Threads"]))
            self._loaded_key = load_key
            self._engine_key = None
            self.say(self._setup.source)
        engine_key = (load_key, o["Search"])
        if self._engine_key != engine_key:
            try:
                setup = self._setup.with_arm(str(o["Search"]))
            except Exception as err:  # no learned weights: the config's arm instead
                o["Search"] = self._setup.params.arm
                self.say(f"{err}; using {o['Search']}")
                return self._build(o)
            self.engine = SearchEngine.from_setup(setup)
            self._engine_key = engine_key
            # Warm up (Numba kernels, the traced network) so the first timed move is not slow.
            self.engine.set_position(chess.Board())
            self.engine.search(setup.params.leaves_per_step)
            read_root(self.engine.mcts)
            self.engine.state = None
        return self.engine
