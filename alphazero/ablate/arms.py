"""What the ablation measures with: networks, solver-labelled splits, balanced openings,
and each arm's search (``arm_setup``, ``search_positions``, ``ArmSetup.agent``,
``tune_c_init``, ``incremental_puct`` for the boundary study)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alphazero.ablate.config import EVALUATION_SEED, LEARNED_ARMS
from alphazero.config import ConfigError
from alphazero.eval.labelled import LabelledPosition, default_cache_dir, labelled_positions
from alphazero.eval.search_agent import SearchAgent
from alphazero.eval.solver import ExactScores
from games.base import random_opening
from nets.loader import resolve_model
from search import BatchedMCTS, EvaluateFn, SearchParams
from search.learned import LearnedWeights
from search.states import chunks, search_states


# -------------------------------------------------------------------------- networks
def fresh_seed(spec: str) -> int | None:
    """The seed of an ablation config's 'fresh' or 'fresh:SEED' checkpoint, else None."""
    if spec != "fresh" and not spec.startswith("fresh:"):
        return None
    text = spec.split(":", 1)[1] if ":" in spec else "0"
    if not text.isdigit():
        raise ConfigError(f"checkpoint {spec!r}: write fresh or fresh:SEED (SEED an integer)")
    return int(text)


def load_network(spec: str, game: Any, network: Any) -> Any:
    """A ``PolicyValueNet`` from a checkpoint path, or 'fresh[:SEED]' for a new network
    (``nets.loader.resolve_model``)."""
    seed = fresh_seed(spec)
    model, _ = resolve_model(game, network, None if seed is not None else spec,
                             fresh=seed is not None, seed=seed or 0)
    return model


# ------------------------------------------------------------------------- positions
@dataclass
class Split:
    """Labelled positions as arrays: what each action is worth, for fast scoring."""

    positions: list[LabelledPosition]
    states: list
    stones: np.ndarray  # int[P], stones on the board
    optimal: np.ndarray  # bool[P, A], the action keeps the game-theoretic value
    best: np.ndarray  # bool[P, A], the action has the best exact score
    value: np.ndarray  # float[P], game-theoretic value for the side to move (-1, 0, 1)

    @classmethod
    def of(cls, positions: Sequence[LabelledPosition], num_actions: int) -> "Split":
        optimal = np.zeros((len(positions), num_actions), dtype=bool)
        best = np.zeros_like(optimal)
        for i, p in enumerate(positions):
            optimal[i, p.optimal_actions()] = True
            best[i, p.best_actions()] = True
        return cls(list(positions), [p.state() for p in positions],
                   np.array([len(p.moves) for p in positions]), optimal, best,
                   np.array([p.value for p in positions], dtype=np.float64))

    def score(self, action: np.ndarray, value: np.ndarray) -> dict[str, np.ndarray]:
        """Per-position metrics (float[P] each) of the chosen actions and root values."""
        rows = np.arange(len(action))
        return {"optimal_share": self.optimal[rows, action].astype(np.float64),
                "best_share": self.best[rows, action].astype(np.float64),
                "value_error": np.abs(np.asarray(value, np.float64) - self.value)}


def state_key(state: Any) -> tuple:
    return tuple(np.asarray(state).ravel().tolist())


def evaluation_positions(game: Any, count: int, exclude: Sequence[LabelledPosition], *,
                         seed: int = EVALUATION_SEED) -> list[LabelledPosition]:
    """``count`` positions of labelled seed ``seed`` minus any that occur in ``exclude``."""
    seen = {state_key(p.state()) for p in exclude}
    return [p for p in labelled_positions(game, count, seed=seed)
            if state_key(p.state()) not in seen]


def strata_of(stones: np.ndarray, bounds: Sequence[int]) -> dict[str, np.ndarray]:
    """Stratum label ('16-19', '24+', '<16') -> bool mask[P], for the non-empty strata."""
    bounds = sorted(bounds)
    if not bounds:
        return {}
    out = {f"<{bounds[0]}": stones < bounds[0]}
    for lo, hi in zip(bounds, bounds[1:] + [None]):
        label = f"{lo}+" if hi is None else f"{lo}-{hi - 1}"
        out[label] = (stones >= lo) if hi is None else (stones >= lo) & (stones < hi)
    return {k: v for k, v in out.items() if v.any()}


def balanced_openings(game: Any, count: int, plies: Sequence[int], margin: int, *,
                      seed: int = 0, tries_per_opening: int = 200) -> list[list[int]]:
    """``count`` distinct random openings whose exact value is close: |score| <= ``margin``
    (Pons score for Connect Four, -1/0/1 for tic-tac-toe). Connect Four ones are cached."""
    cache = None
    if game.name == "connect4":
        cache = default_cache_dir() / (f"connect4_openings_p{plies[0]}-{plies[1]}_m{margin}"
                                       f"_seed{seed}.txt")
        if cache.is_file():
            cached = [[int(c) - 1 for c in line.split()[0]]
                      for line in cache.read_text().split("\n") if line.strip()]
            if len(cached) >= count:
                return cached[:count]
    rng = np.random.default_rng([seed, 7])
    found: dict[tuple[int, ...], int] = {}
    exact = ExactScores(game)
    for _ in range(tries_per_opening * count):
        if len(found) == count:
            break
        moves = tuple(random_opening(game, int(rng.integers(plies[0], plies[1] + 1)), rng))
        if moves in found:
            continue
        state = game.initial_state()
        for action in moves:
            state = game.apply(state, action)
        score = exact.score(state)
        if abs(score) <= margin:
            found[moves] = score
    if not found:
        raise ValueError(f"no balanced {game.name} opening of {plies[0]}-{plies[1]} plies "
                         f"within margin {margin}")
    if cache is not None and len(found) == count:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text("".join(f"{''.join(str(a + 1) for a in m)} {s}\n"
                                 for m, s in found.items()))
    return [list(m) for m in found]


# ------------------------------------------------------------------------------ arms
@dataclass(frozen=True)
class ArmSetup:
    """How one arm searches: its rule and constants, learned weights and root noise."""

    name: str
    params: SearchParams
    learned: LearnedWeights | None = None
    noise: bool = False

    def at(self, budget: int) -> SearchParams:
        return dataclasses.replace(self.params, simulations=budget)

    def agent(self, game: Any, evaluate: EvaluateFn, budget: int, *, seed: int = 0,
              name: str | None = None) -> SearchAgent:
        """The arm as a match player: fresh trees each move, no evaluation cache."""
        return SearchAgent(game, evaluate, self.at(budget), learned=self.learned,
                           noise=self.noise, seed=seed, cache_size=0,
                           name=name or f"{self.name}@{budget}")


def arm_setup(name: str, base: SearchParams, *, weights: LearnedWeights | None = None,
              c_init: float | None = None, gumbel_noise: bool = True) -> ArmSetup:
    """The setup of arm ``name`` (``ARMS``) on top of the game config's ``base`` params."""
    base = dataclasses.replace(base, arm="puct", reuse_tree=False)
    if name in ("policy", "puct"):
        return ArmSetup(name, base)
    if name == "puct_tuned":
        return ArmSetup(name, dataclasses.replace(base, c_init=float(c_init)))
    if name == "gumbel":
        return ArmSetup(name, dataclasses.replace(base, arm="gumbel"), noise=gumbel_noise)
    if name == "gumbel_greedy":  # without root noise, whatever gumbel_noise says
        return ArmSetup(name, dataclasses.replace(base, arm="gumbel"), noise=False)
    if name in LEARNED_ARMS:
        if weights is None:
            raise ValueError(f"arm {name} needs learned search weights")
        parts = LearnedWeights(
            selection=weights.selection if name in ("learned_selection", "learned") else None,
            readout=weights.readout if name in ("learned_readout", "learned") else None,
            backup=weights.backup if name in ("learned_backup", "learned") else None)
        return ArmSetup(name, dataclasses.replace(base, arm="learned"), learned=parts)
    raise ValueError(f"unknown arm {name!r}")


@dataclass
class ArmRun:
    """One arm's answers on a list of positions."""

    action: np.ndarray  # int[P]
    value: np.ndarray  # float[P], root value for the side to move
    seconds_per_move: float


def search_positions(game: Any, evaluate: EvaluateFn, setup: ArmSetup, states: Sequence[Any],
                     budget: int, *, seed: int, batch_size: int) -> ArmRun:
    """Search ``states`` ``batch_size`` at a time with ``budget`` simulations each."""
    run = search_states(game, evaluate, setup.at(budget), states, batch_size=batch_size,
                        seed=seed, learned=setup.learned, add_noise=setup.noise)
    return ArmRun(run.action.astype(np.int64), run.value.astype(np.float64),
                  run.seconds / len(states))


def tune_c_init(game: Any, evaluate: Any, base: SearchParams, split: Split, budget: int,
                grid: Sequence[float], *, batch_size: int) -> tuple[float, dict[float, float]]:
    """The c_init of ``grid`` with the highest optimal share on ``split`` at ``budget`` (ties:
    the one closest to the config's c_init, in ratio), and every candidate's share."""
    shares = {}
    for c in grid:
        setup = arm_setup("puct_tuned", base, c_init=c)
        run = search_positions(game, evaluate, setup, split.states, budget, seed=0,
                               batch_size=batch_size)
        shares[float(c)] = float(split.score(run.action, run.value)["optimal_share"].mean())
    top = max(shares.values())
    best = min((c for c, s in shares.items() if s == top),
               key=lambda c: abs(np.log(c / base.c_init)))
    return best, shares


# ------------------------------------------------------------------- boundary search
def incremental_puct(game: Any, evaluate: Any, params: SearchParams, states: Sequence[Any],
                     budgets: Sequence[int], *, batch_size: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PUCT read out at each of the increasing ``budgets`` by continuing one tree per position.

    PUCT's choices depend only on the tree, not on the budget, so a tree grown to b1 and then
    on to b2 is the tree of a search with b2: the whole curve costs one search of the largest
    budget. Returns actions and root values, int/float[len(budgets), P], and the cumulative
    seconds per move at each budget.
    """
    params = dataclasses.replace(params, arm="puct", simulations=max(budgets), reuse_tree=False)
    n = len(states)
    mcts = BatchedMCTS(game, evaluate, params, batch_size=min(batch_size, n), seed=0)
    action = np.zeros((len(budgets), n), dtype=np.int64)
    value = np.zeros((len(budgets), n))
    seconds = np.zeros(len(budgets))
    for start, count, active in chunks(mcts, states):
        done = 0
        for j, budget in enumerate(budgets):
            started = time.perf_counter()
            result = mcts.run(simulations=budget - done, active=active)
            seconds[j] += time.perf_counter() - started
            done = budget
            action[j, start:start + count] = result.action[:count]
            value[j, start:start + count] = result.value[:count]
    return action, value, np.cumsum(seconds) / n

