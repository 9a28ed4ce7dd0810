"""Matches between agents and the evaluation ladder the trainer runs every ``eval_every`` steps.

``play_match`` plays N games between agents A and B at once: at each turn every game waiting
for A is handed to A in one ``select_moves`` call (one batched search), then B's. Colours
alternate. Opening diversity comes from **paired random openings**: games 2i and 2i+1 start
with the same ``opening_plies`` uniformly random moves, A moving first in one and B in the
other, so a lopsided opening favours neither player. Without them two deterministic agents
(a network at temperature 0 against another) would replay the same game over and over.
Defaults: 1 random ply in tic-tac-toe (every first move is a draw with perfect play), 2 in
Connect Four, 4 in chess.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alphazero.eval.agents import Agent, RandomAgent, RolloutAgent, parse_agent_spec
from alphazero.eval.elo import EloEstimate, elo_difference
from alphazero.eval.labelled import labelled_positions, optimal_share
from alphazero.eval.search_agent import SearchAgent
from games import capabilities, get_game, is_array_game
from games.base import Game, GameError, random_opening
from nets.checkpoint import CheckpointError
from search.learned import LearnedWeights

logger = logging.getLogger(__name__)

DEFAULT_ROLLOUT_SIMULATIONS = 200
"""Budget of the ladder's ``rollout:N`` opponent (array games; chess skips it by default)."""
LADDER_POSITIONS = 300
"""Solver-labelled positions scored by each ladder call (the first ones of the cached set)."""
LABELLED_SEED = 0
"""The ladder always scores the same labelled positions, so calls compare."""


@dataclass
class GameRecord:
    """One game: every action from the initial state (the random opening included)."""

    moves: list[int]
    a_first: bool
    first_player_score: float  # 1 first player won, 0.5 draw, 0 lost
    opening_plies: int = 0
    termination: str = "normal"  # or "max plies" (adjudicated a draw)

    @property
    def score_a(self) -> float:
        return self.first_player_score if self.a_first else 1.0 - self.first_player_score

    @property
    def result_text(self) -> str:
        """PGN result from the first player's side: 1-0, 0-1 or 1/2-1/2."""
        return {1.0: "1-0", 0.0: "0-1"}.get(self.first_player_score, "1/2-1/2")


@dataclass
class MatchResult:
    """The games of a match and A's wins, draws and losses."""

    game: str
    a_name: str
    b_name: str
    records: list[GameRecord] = field(default_factory=list)

    @property
    def wins(self) -> int:
        return sum(r.score_a == 1.0 for r in self.records)

    @property
    def draws(self) -> int:
        return sum(r.score_a == 0.5 for r in self.records)

    @property
    def losses(self) -> int:
        return sum(r.score_a == 0.0 for r in self.records)

    def elo(self, confidence: float = 0.95) -> EloEstimate:
        """A's Elo difference over B with its interval (see alphazero.eval.elo)."""
        return elo_difference(self.wins, self.draws, self.losses, confidence=confidence)


def agent_seed(match_seed: int, index: int) -> int:
    """The seed of agent ``index`` (0 for A, 1 for B) in a match seeded ``match_seed``.

    ``alphazero match`` and the benchmark scripts all seed their agents with it, so ``--seed N``
    names the same games in each of them.
    """
    return 2 * match_seed + index


def play_match(game: Game | str, agent_a: Agent, agent_b: Agent, *, games: int,
               opening_plies: int | None = None, openings: Sequence[Sequence[int]] | None = None,
               max_plies: int | None = None, seed: int = 0,
               progress: Callable[[int, int, int], None] | None = None) -> MatchResult:
    """Play ``games`` games between A and B, all at once, colours alternating.

    ``openings``: action sequences to start from (pair i uses ``openings[i % len]``); else
    random openings of ``opening_plies`` (default: the game's ``default_opening_plies``, see
    games.base). A game reaching ``max_plies`` plies is a draw. ``progress(finished, games,
    plies)`` is called after every turn, ``plies`` the longest unfinished game's length.
    """
    return play_matches(game, [(agent_a, agent_b)], games=games, opening_plies=opening_plies,
                        openings=openings, max_plies=max_plies, seed=seed, progress=progress)[0]


def play_matches(game: Game | str, pairings: Sequence[tuple[Agent, Agent]], *, games: int,
                 opening_plies: int | None = None,
                 openings: Sequence[Sequence[int]] | None = None, max_plies: int | None = None,
                 seed: int = 0,
                 progress: Callable[[int, int, int], None] | None = None) -> list[MatchResult]:
    """Several matches (A, B) at once, each as ``play_match``, from the same openings.

    At every turn each distinct agent gets all the positions waiting for it, from every match,
    in one ``select_moves`` call: the ladder's network searches its games against all
    opponents together.
    """
    game = get_game(game) if isinstance(game, str) else game
    if games < 1:
        raise ValueError(f"a match needs at least one game, not {games}")
    rng = np.random.default_rng(seed)
    if opening_plies is None:
        opening_plies = capabilities(game).default_opening_plies
    if openings is None:
        openings = [random_opening(game, opening_plies, rng) for _ in range((games + 1) // 2)]
    if not openings:
        raise ValueError("openings is empty")
    results = [MatchResult(game.name, a.name, b.name) for a, b in pairings]
    players, states = [], []  # per game: (first player, second player), state
    for (agent_a, agent_b), result in zip(pairings, results):
        for g in range(games):
            opening = [int(a) for a in openings[(g // 2) % len(openings)]]
            state = game.initial_state()
            for action in opening:
                state = game.apply(state, action)
            record = GameRecord(moves=list(opening), a_first=g % 2 == 0,
                                first_player_score=0.5, opening_plies=len(opening))
            result.records.append(record)
            players.append((agent_a, agent_b) if record.a_first else (agent_b, agent_a))
            states.append(state)
    records = [r for result in results for r in result.records]
    for agent in {id(a): a for pair in pairings for a in pair}.values():
        agent.reset()
    live = [g for g in range(len(states)) if not _finished(game, states[g], records[g], max_plies)]
    while live:
        waiting: dict[int, tuple[Agent, list[int]]] = {}
        for g in live:
            agent = players[g][game.to_play(states[g])]
            waiting.setdefault(id(agent), (agent, []))[1].append(g)
        for agent, turn in waiting.values():
            actions = agent.select_moves([states[g] for g in turn])
            for g, action in zip(turn, actions):
                try:
                    states[g] = game.apply(states[g], int(action))
                except GameError as err:
                    raise ValueError(f"agent {agent.name} made an illegal move: {err}") from None
                records[g].moves.append(int(action))
        live = [g for g in live if not _finished(game, states[g], records[g], max_plies)]
        if progress is not None:  # every turn: chess games run for minutes before one ends
            progress(len(states) - len(live), len(states),
                     max((len(records[g].moves) for g in live), default=0))
    return results


def _finished(game: Game, state: Any, record: GameRecord, max_plies: int | None) -> bool:
    """Whether the game is over; sets the record's result when it is."""
    if game.is_terminal(state):
        value = game.terminal_value(state)  # side to move's view
        first = value if game.to_play(state) == 0 else -value
        record.first_player_score = (first + 1.0) / 2.0
        return True
    if max_plies is not None and len(record.moves) >= max_plies:
        record.first_player_score, record.termination = 0.5, "max plies"
        return True
    return False


# -------------------------------------------------------------------------------- PGN
def match_pgn(game: Game | str, result: MatchResult, *, event: str = "alphazero match") -> str:
    """The games as PGN: real PGN from games with ``format_pgn`` (chess); for the others the
    same tag pairs with the game's own move text (Connect Four columns 1-7, tic-tac-toe cells
    1-9)."""
    game = get_game(game) if isinstance(game, str) else game
    date = datetime.date.today().strftime("%Y.%m.%d")
    texts = []
    for number, record in enumerate(result.records, 1):
        white, black = ((result.a_name, result.b_name) if record.a_first
                        else (result.b_name, result.a_name))
        tags = {"Event": event, "Date": date, "Round": str(number), "White": white, "Black": black,
                "Result": record.result_text,
                # moves are searched to a simulation budget, not a clock: "-" in PGN
                "TimeControl": "-", "RandomOpeningPlies": str(record.opening_plies)}
        if record.termination != "normal":
            tags["Termination"] = record.termination
        if capabilities(game).pgn:  # real PGN, from the game itself (chess)
            state = game.initial_state()
            for action in record.moves:
                state = game.apply(state, action)
            texts.append(game.format_pgn(state, tags))
            continue
        tags = {"Variant": game.name, **tags}
        state, words = game.initial_state(), []
        for ply, action in enumerate(record.moves):
            if ply % 2 == 0:
                words.append(f"{ply // 2 + 1}.")
            words.append(game.format_move(state, action))
            state = game.apply(state, action)
        head = "\n".join(f'[{k} "{v}"]' for k, v in tags.items())
        texts.append(f"{head}\n\n{' '.join(words + [record.result_text])}\n")
    return "\n".join(texts)


# ----------------------------------------------------------------------------- ladder
def _metric_name(path: Path) -> str:
    return "ckpt_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem)


def match_metrics(key: str, result: MatchResult) -> dict[str, float]:
    """Flat metrics of one match: ``elo/KEY`` (+ ``_low``/``_high``), ``wdl/KEY_win`` ...,
    ``score/KEY``. ``elo/KEY`` is finite: for a 100% (0%) score it is the interval's finite
    end, read "at least (at most) this"; ``_high`` (``_low``) is then inf."""
    est = result.elo()
    return {f"elo/{key}": est.conservative, f"elo/{key}_low": est.low,
            f"elo/{key}_high": est.high, f"wdl/{key}_win": float(result.wins),
            f"wdl/{key}_draw": float(result.draws), f"wdl/{key}_loss": float(result.losses),
            f"score/{key}": est.score}


def run_ladder(game: Game | str, model: Any, config: Any, *, step: int, run_dir: Path,
               earlier_checkpoints: Sequence[Path], seed: int,
               rollout_simulations: int | None = None, labelled_count: int = LADDER_POSITIONS,
               extra_opponents: Sequence[str] = (),
               cache_dir: Path | None = None, learned: LearnedWeights | None = None,
               columns: dict[str, float] | None = None) -> dict[str, float]:
    """Evaluate ``model`` (config.search's arm and simulations) and log one CSV row.

    Opponents, ``config.train.eval_games`` games each: ``random``; ``rollout:N`` with N =
    ``rollout_simulations`` (default ``DEFAULT_ROLLOUT_SIMULATIONS`` for the array games; 0
    skips it, as chess does by default: its Python playouts cost seconds a move); each of
    ``earlier_checkpoints`` (``ckpt_<file stem>``), with the same search; any
    ``extra_opponents`` agent specs (e.g. ``stockfish:1``). For Connect Four and tic-tac-toe
    also the share of optimal and best moves on ``labelled_count`` solver-labelled positions,
    by the network's policy alone and with search. The model is copied, never modified.
    Arm learned searches with ``learned`` (the earlier checkpoints too); without it, PUCT.
    Appends ``step``, ``columns`` (e.g. the run's clock) and every metric to
    ``run_dir / "evaluation.csv"`` and returns the metrics.
    """
    # torch only here, in the ladder: `alphazero match connect4` with numpy agents and
    # `import alphazero.eval` must not pay its ~2 s import.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # measured: 2 threads on a busy 2-core machine are ~100x slower
    try:
        metrics = _ladder_metrics(game, model, config, seed=seed, step=step,
                                  earlier_checkpoints=earlier_checkpoints,
                                  rollout_simulations=rollout_simulations,
                                  labelled_count=labelled_count,
                                  extra_opponents=extra_opponents, cache_dir=cache_dir,
                                  learned=learned)
    finally:
        torch.set_num_threads(threads)
    append_csv_row(Path(run_dir) / "evaluation.csv", {"step": step, **(columns or {}),
                                                      **metrics})
    return metrics


def _ladder_metrics(game: Game | str, model: Any, config: Any, *, seed: int, step: int,
                    earlier_checkpoints: Sequence[Path], rollout_simulations: int | None,
                    labelled_count: int, extra_opponents: Sequence[str],
                    cache_dir: Path | None, learned: LearnedWeights | None) -> dict[str, float]:
    game = get_game(game) if isinstance(game, str) else game
    started = time.perf_counter()
    params = config.search
    if params.arm == "learned" and learned is None:
        logger.warning("the ladder searches with puct: arm %s needs its weights", params.arm)
        params = dataclasses.replace(params, arm="puct")
    if params.arm != "learned":
        learned = None
    from nets.torch_net import select_device  # torch: see run_ladder

    # One thread: the ladder holds one CPU beside the workers. config.backend: the network
    # runs as in self-play (on a GPU, torch).
    net = SearchAgent.from_model(game, copy.deepcopy(model), params, name=f"step {step}",
                                 seed=seed, num_threads=1, device=select_device(config.device),
                                 backend=config.backend, learned=learned)
    if rollout_simulations is None:
        rollout_simulations = DEFAULT_ROLLOUT_SIMULATIONS if is_array_game(game) else 0
    opponents: list[tuple[str, Agent]] = [("random", RandomAgent(game, seed=seed + 1))]
    if rollout_simulations > 0:
        opponents.append(("rollout", RolloutAgent(game, rollout_simulations, seed=seed + 2)))
    for path in earlier_checkpoints:
        try:
            agent = SearchAgent.from_checkpoint(game, path, params, seed=seed + 3,
                                                num_threads=1, backend=config.backend,
                                                learned=learned)
        except CheckpointError as err:  # one bad file costs one opponent, not the ladder
            logger.warning("the ladder skips earlier checkpoint %s: %s", Path(path).name, err)
            continue
        opponents.append((_metric_name(path), agent))
    for spec in extra_opponents:
        opponents.append((re.sub(r"[^A-Za-z0-9_.-]+", "_", spec),
                          parse_agent_spec(game, spec, seed=seed + 4,
                                           backend=config.backend)))
    try:
        results = play_matches(game, [(net, opponent) for _, opponent in opponents],
                               games=config.train.eval_games, seed=seed,
                               max_plies=config.selfplay.max_moves)
    finally:
        for _, opponent in opponents:
            close = getattr(opponent, "close", None)
            if close is not None:
                close()
    metrics: dict[str, float] = {}
    for (key, _), result in zip(opponents, results):
        metrics.update(match_metrics(key, result))
    if game.name in ("connect4", "tictactoe") and labelled_count > 0:
        metrics.update(solver_metrics(game, net, labelled_count, cache_dir=cache_dir))
    metrics["eval/seconds"] = time.perf_counter() - started
    return metrics


def solver_metrics(game: Game, agent: SearchAgent, count: int, *,
                   cache_dir: Path | None = None) -> dict[str, float]:
    """Optimal and best move shares of ``agent``'s search and of its policy alone."""
    positions = labelled_positions(game, count, seed=LABELLED_SEED, cache_dir=cache_dir)
    policy = SearchAgent(game, agent.evaluate, dataclasses.replace(agent.params, simulations=0),
                         name=f"{agent.name} policy", learned=agent.learned)
    metrics = {}
    for kind, player in (("policy", policy), ("search", agent)):
        accuracy = optimal_share(player, positions)
        metrics[f"solver/optimal_share_{kind}"] = accuracy.optimal
        metrics[f"solver/best_share_{kind}"] = accuracy.best
    return metrics


def append_csv_row(path: Path, row: dict[str, float]) -> None:
    """Append ``row``; write the header if the file is new, and rewrite the file with a wider
    header when the row brings new columns (e.g. a new earlier checkpoint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.stat().st_size == 0:
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            writer.writeheader()
            writer.writerow(row)
        return
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        rows = list(reader) if set(row) - set(header) else None
    if rows is None:
        with open(path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=header, restval="").writerow(row)
        return
    header += [k for k in row if k not in header]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows + [row])
    tmp.replace(path)
