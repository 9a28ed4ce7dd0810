"""The network and search tree behind the UCI engine, (re)built when the options change.

Loading is the slow part (reading the checkpoint, tracing the network, compiling the Numba
kernels), so ``EngineCache`` keeps the last network and search engine and rebuilds only what
the ``Checkpoint``, ``Threads`` or ``Search`` options changed.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chess
import yaml

# Networks load (torch.jit.trace) in one thread at a time: the tracer's state is global.
_LOAD_LOCK = threading.Lock()


def default_search_settings(config_name: str) -> tuple[int, str]:
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


class EngineCache:
    """Builds the ``play.SearchEngine`` (of chess) for the
    current UCI options; ``say`` reports which network was loaded and any fallback."""

    def __init__(self, config_name: str, overrides: list[str], say: Callable[[str], None]):
        self.config_name = config_name
        self.overrides = overrides
        self.say = say
        self.engine: Any = None
        self._evaluate: Any = None
        self._base_params: Any = None
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
            from alphazero.config import load_config
            from nets.loader import resolve_model
            from nets.torch_net import make_evaluate_fn
            from games import get_game

            config = load_config(self.config_name, self.overrides)
            model, source = resolve_model(get_game("chess"), config.network,
                                          o["Checkpoint"] or None)
            self._evaluate = make_evaluate_fn(model, num_threads=int(o["Threads"]))
            self._base_params = config.search
            self._loaded_key = load_key
            self._engine_key = None
            self.say(source)
        engine_key = (load_key, o["Search"])
        if self._engine_key != engine_key:
            from alphazero.cli.play import learned_weights_for
            from alphazero.play.engine import SearchEngine
            from alphazero.uci.tree import read_root
            from games.chess import GAME

            learned = None
            if o["Search"] == "learned":
                try:
                    learned = learned_weights_for(GAME, dataclasses.replace(
                        self._base_params, arm="learned"))
                except Exception as err:
                    o["Search"] = self._base_params.arm
                    self.say(f"{err}; using {o['Search']}")
                    return self._build(o)
            params = dataclasses.replace(self._base_params, arm=str(o["Search"]))
            self.engine = SearchEngine(GAME, self._evaluate, params,
                                       learned=learned)
            self._engine_key = engine_key
            # Warm up (Numba kernels, the traced network) so the first timed move is not slow.
            self.engine.set_position(chess.Board())
            self.engine.search(params.leaves_per_step)
            read_root(self.engine.mcts)
            self.engine.state = None
        return self.engine
