"""Self-play: many games at once in one batched search, returned as numpy trajectories.

``SelfPlayWorker`` is a plain class (no Ray, no torch): it takes the search's ``evaluate``
function. Every call to ``play`` advances all ``games_per_worker`` games by some moves; a
finished game's slot starts a new game at once, so the search's batch stays full.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from games.base import is_array_game, random_opening
from search import BatchedMCTS, EvaluateFn, SearchParams
from search.learned import LearnedWeights, improved_policy


@dataclass
class _Slot:
    """One game in progress: its state and the positions recorded so far."""

    state: Any
    playthrough: bool  # never resigns: measures false resignations
    moves: int = 0  # plies played, the random opening's included
    observations: list = field(default_factory=list)
    policies: list = field(default_factory=list)
    legal: list = field(default_factory=list)
    players: list = field(default_factory=list)  # side to move of each recorded position
    root_values: list = field(default_factory=list)  # search value, side to move's view
    would_resign: list = field(default_factory=lambda: [False, False])  # per player


@dataclass
class SelfPlayStats:
    """Counters of one ``play`` call; ``merge`` adds them up."""

    games: int = 0
    moves: int = 0  # moves played (recorded or not)
    positions: int = 0  # training positions returned
    simulations: int = 0
    seconds: float = 0.0
    resignations: int = 0  # games ended by a resignation
    resign_checks: int = 0  # play-through games' sides that would have resigned
    false_positives: int = 0  # ... and then did not lose
    first_player_wins: int = 0
    draws: int = 0
    second_player_wins: int = 0
    game_lengths: list = field(default_factory=list)  # moves per finished game

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "game_lengths"}
        out["game_lengths"] = np.asarray(self.game_lengths, dtype=np.int32)
        return out


class SelfPlayWorker:
    """Plays ``config.games_per_worker`` games at once with ``BatchedMCTS``.

    Moves: a game opens with 0 to ``random_opening_plies`` uniformly random plies, played when
    the game starts, neither searched nor recorded; then sampled in proportion to visits up to
    ply ``temperature_moves`` (PUCT and learned arms; Gumbel's sampled action already explores),
    then the search's choice.
    Root noise (Dirichlet or Gumbel) on every fully searched move, or only in the first
    ``noise_moves`` plies; the tree is reused between moves. The value target is the game's
    outcome, mixed with the root's search value by ``value_target_q``. A side resigns when the
    root value and its best child's value are both below ``resign_threshold``, except in the
    ``resign_playthrough`` share of games, which are played out to count false resignations.

    Args:
      game: a game from ``games``.
      evaluate: ``evaluate(obs float32[M, C, H, W], legal bool[M, A]) -> (logits, values)``.
      params: search parameters (arm, simulations, ...); ``config.simulations``, when set,
        replaces the number of simulations.
      config: an ``alphazero.config.SelfPlayConfig`` (or any object with its fields).
      seed: seeds the search's noise and the worker's move sampling.
      learned: the learned search's weights, needed when ``params.arm == "learned"`` (the
        learned search is then self-play's policy-improvement operator; its ``target``, when
        trained, maps each root's statistics to the policy recorded for training).
      root_share: share of fully searched positions whose game states are also returned as
        ``roots`` (training roots for the learned search, ``alphazero.learned.tandem``).
    """

    def __init__(
        self,
        game,
        evaluate: EvaluateFn,
        params: SearchParams,
        config,
        *,
        seed: int = 0,
        learned: LearnedWeights | None = None,
        root_share: float = 0.0,
    ):
        self.game = game
        self.root_share = root_share
        self.roots: list = []
        if config.simulations > 0:  # self-play's own budget
            params = dataclasses.replace(params, simulations=config.simulations)
        self.params = params
        self.config = config
        self.evaluate = evaluate
        self.rng = np.random.default_rng(seed)
        self.batch_size = config.games_per_worker
        self.mcts = BatchedMCTS(
            game,
            lambda obs, legal: self.evaluate(obs, legal),
            params,
            batch_size=self.batch_size,
            seed=seed + 1_000_003,
            learned=learned,
        )
        self.slots = [self._new_slot() for _ in range(self.batch_size)]
        self.mcts.set_roots([slot.state for slot in self.slots])
        self.sample_opening = params.arm != "gumbel"

    def set_evaluate(self, evaluate: EvaluateFn) -> None:
        """Use a new network from the next search on (trees keep their old statistics)."""
        self.evaluate = evaluate

    def set_learned(self, learned: LearnedWeights) -> None:
        """Use new learned-search weights from the next search on."""
        self.mcts.learned = learned

    def _new_slot(self) -> _Slot:
        playthrough = bool(self.rng.random() < self.config.resign_playthrough)
        state, most, opening = self.game.initial_state(), self.config.random_opening_plies, []
        if most > 0:
            opening = random_opening(self.game, int(self.rng.integers(0, most + 1)), self.rng)
        for action in opening:
            state = self.game.apply(state, action)
        return _Slot(state=state, playthrough=playthrough, moves=len(opening))

    # -------------------------------------------------------------------- play
    def play(self, *, moves: int | None = None, seconds: float | None = None):
        """Play ``moves`` move-steps (each advances every game once), or for ``seconds``.

        Returns (trajectories, stats): ``trajectories`` holds the finished games' positions,
        game by game: observations float32[T, C, H, W], policies float32[T, A] (the search's
        improved policy), values float32[T] (final outcome from the position's side to move),
        legal_masks bool[T, A], game_lengths int32[G] (positions per game, summing to T);
        ``stats`` is ``SelfPlayStats.as_dict()``.
        """
        if (moves is None) == (seconds is None):
            raise ValueError("give exactly one of moves and seconds")
        stats = SelfPlayStats()
        finished: list[tuple[_Slot, float]] = []
        start = time.perf_counter()
        step = 0
        while (
            (step < moves)
            if moves is not None
            else (step == 0 or time.perf_counter() - start < seconds)
        ):
            self._step(stats, finished)
            step += 1
        stats.seconds = time.perf_counter() - start
        return self._trajectories(finished, stats), stats.as_dict()

    def _step(self, stats: SelfPlayStats, finished: list) -> None:
        """One move in every game."""
        cfg = self.config
        full = cfg.fast_simulations <= 0 or self.rng.random() < cfg.full_search_share
        sims = self.params.simulations if full else cfg.fast_simulations
        noise = full
        if cfg.noise_moves > 0:
            noise = full & (np.array([slot.moves for slot in self.slots]) < cfg.noise_moves)
        result = self.mcts.run(simulations=sims, add_noise=noise, temperature=0.0)
        stats.simulations += int(result.simulations.sum())
        observations, legal = self._describe([slot.state for slot in self.slots])
        targets = result.policy
        if full:
            targets = improved_policy(self.mcts.learned.target, result.policy, result.visits,
                                      result.prior, result.q, result.value)
            if self.root_share > 0:
                for b in np.flatnonzero(self.rng.random(len(self.slots)) < self.root_share):
                    self.roots.append(self.slots[b].state)
        for b, slot in enumerate(self.slots):
            player = self.game.to_play(slot.state)
            if full:
                slot.observations.append(observations[b])
                slot.policies.append(targets[b])
                slot.legal.append(legal[b])
                slot.players.append(player)
                slot.root_values.append(float(result.value[b]))
            if self._wants_to_resign(result, b):
                if not slot.playthrough:
                    stats.resignations += 1
                    self._finish(
                        b,
                        stats,
                        finished,
                        outcome_first=-1.0 if player == 0 else 1.0,
                        resigned=True,
                    )
                    continue
                slot.would_resign[player] = True
            action = int(result.action[b])
            if slot.moves < cfg.temperature_moves and self.sample_opening:
                action = int(
                    self.rng.choice(len(result.policy[b]), p=_normalised(result.policy[b]))
                )
            state = self.game.apply(slot.state, action)
            slot.state = state
            slot.moves += 1
            stats.moves += 1
            if self.game.is_terminal(state):
                value = self.game.terminal_value(state)  # for the side to move at the end
                first = value if self.game.to_play(state) == 0 else -value
                self._finish(b, stats, finished, outcome_first=first)
            elif slot.moves >= cfg.max_moves:
                self._finish(b, stats, finished, outcome_first=0.0)
            else:
                self.mcts.advance(b, action, state)

    def _wants_to_resign(self, result, b: int) -> bool:
        threshold = self.config.resign_threshold
        if threshold <= -1.0:
            return False
        q = result.q[b]
        best_child = np.nanmax(q) if np.isfinite(q).any() else result.value[b]
        return bool(result.value[b] < threshold and best_child < threshold)

    def _finish(
        self,
        b: int,
        stats: SelfPlayStats,
        finished: list,
        *,
        outcome_first: float,
        resigned: bool = False,
    ) -> None:
        """Close game ``b`` (``outcome_first``: result for the first player) and start anew."""
        slot = self.slots[b]
        finished.append((slot, outcome_first))
        stats.games += 1
        stats.game_lengths.append(slot.moves)
        if outcome_first > 0:
            stats.first_player_wins += 1
        elif outcome_first < 0:
            stats.second_player_wins += 1
        else:
            stats.draws += 1
        if slot.playthrough and not resigned:
            for player in (0, 1):
                if slot.would_resign[player]:
                    stats.resign_checks += 1
                    mine = outcome_first if player == 0 else -outcome_first
                    stats.false_positives += int(mine >= 0)  # it would have resigned a non-loss
        self.slots[b] = self._new_slot()
        self.mcts.set_roots([self.slots[b].state], [b])

    def _describe(self, states: list) -> tuple[np.ndarray, np.ndarray]:
        """Observations float32[B, C, H, W] and legal masks bool[B, A] of the current states."""
        game = self.game
        n = len(states)
        if is_array_game(game):
            obs = np.zeros((n, *game.observation_shape), dtype=np.float32)
            legal = np.zeros((n, game.num_actions), dtype=np.bool_)
            game.describe_batch(
                np.stack(states), obs, legal, np.zeros(n, np.bool_), np.zeros(n, np.float32)
            )
            return obs, legal
        obs = np.stack([game.encode(s) for s in states]).astype(np.float32)
        legal = np.stack([game.legal_mask(s) for s in states]).astype(bool)
        return obs, legal

    def _trajectories(self, finished: list, stats: SelfPlayStats) -> dict[str, np.ndarray]:
        game = self.game
        obs, policies, values, legal, lengths = [], [], [], [], []
        for slot, outcome_first in finished:
            if not slot.observations:
                continue
            players = np.asarray(slot.players)
            obs.append(np.stack(slot.observations))
            policies.append(np.stack(slot.policies))
            legal.append(np.stack(slot.legal))
            outcome = np.where(players == 0, outcome_first, -outcome_first)
            w = self.config.value_target_q
            values.append((1.0 - w) * outcome + w * np.asarray(slot.root_values) if w else outcome)
            lengths.append(len(players))
        roots = self._take_roots()
        if not lengths:
            return {**_empty_trajectories(game), **roots}
        out = {
            "observations": np.concatenate(obs).astype(np.float32),
            "policies": np.concatenate(policies).astype(np.float32),
            "values": np.concatenate(values).astype(np.float32),
            "legal_masks": np.concatenate(legal).astype(bool),
            "game_lengths": np.asarray(lengths, dtype=np.int32),
            **roots,
        }
        stats.positions = int(out["values"].shape[0])
        return out

    def _take_roots(self) -> dict[str, Any]:
        """``{"roots": states}`` gathered since the last call (none without root_share)."""
        if self.root_share <= 0:
            return {}
        roots, self.roots = self.roots, []
        if is_array_game(self.game):
            shape = np.shape(self.game.initial_state())
            return {"roots": np.stack(roots) if roots else np.zeros((0, *shape), np.int64)}
        return {"roots": roots}


def _empty_trajectories(game) -> dict[str, np.ndarray]:
    return {
        "observations": np.zeros((0, *game.observation_shape), dtype=np.float32),
        "policies": np.zeros((0, game.num_actions), dtype=np.float32),
        "values": np.zeros(0, dtype=np.float32),
        "legal_masks": np.zeros((0, game.num_actions), dtype=bool),
        "game_lengths": np.zeros(0, dtype=np.int32),
    }


def _normalised(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return p / p.sum()
