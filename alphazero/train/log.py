"""Training figures: self-play throughput windows, metric formatting and the end-of-run summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

WINDOW_SECONDS = 10.0
"""Shortest self-play window written to TensorBoard while the run goes on."""
LAST_WINDOW_SECONDS = 5.0
"""Shortest last window of a session that wrote one before (``SelfPlayMeter.last_window``)."""


class SelfPlayMeter:
    """Adds up workers' ``play`` stats; gives rates over wall-clock windows and run totals."""

    def __init__(self) -> None:
        self.windows = 0  # windows given (written to TensorBoard)
        self.games_total = 0
        self.simulations_total = 0
        self.resign_checks = 0
        self.false_positives = 0
        self.started = time.monotonic()
        self._reset_window()

    def restart_window(self) -> None:
        """Start the current window now (when self-play starts: the time Ray and the workers
        took to start is no self-play time)."""
        self._reset_window()

    def _reset_window(self) -> None:
        self.window_start = time.monotonic()
        self.w = {
            "games": 0,
            "simulations": 0,
            "moves": 0,
            "resignations": 0,
            "draws": 0,
            "first_player_wins": 0,
            "length_sum": 0,
        }

    def add(self, stats: dict[str, Any]) -> None:
        self.games_total += stats["games"]
        self.simulations_total += stats["simulations"]
        self.resign_checks += stats["resign_checks"]
        self.false_positives += stats["false_positives"]
        for key in ("games", "simulations", "moves", "resignations", "draws", "first_player_wins"):
            self.w[key] += stats[key]
        self.w["length_sum"] += int(np.sum(stats["game_lengths"]))

    def false_positive_rate(self) -> float | None:
        """Share of play-through sides that would have resigned and did not lose."""
        return self.false_positives / self.resign_checks if self.resign_checks else None

    def recent_games_per_s(self) -> float:
        elapsed = time.monotonic() - self.window_start
        if elapsed < 2.0 or self.w["games"] == 0:
            return self.games_total / max(time.monotonic() - self.started, 1e-9)
        return self.w["games"] / elapsed

    def last_window(self) -> dict[str, float] | None:
        """The figures of the run's last window, or None if it is too short to trust.

        The last window ends when training reaches its last step, just after a batch of games
        came in: a short one (1 game in 0.2 s) would draw a spike of games/s at the end of the
        curve (and of each resumed session). It is given only if it is LAST_WINDOW_SECONDS
        long, or is the session's only window (a short run still gets its one point)."""
        return self.window(min_seconds=LAST_WINDOW_SECONDS if self.windows else 0.0)

    def window(self, min_seconds: float = WINDOW_SECONDS) -> dict[str, float] | None:
        """TensorBoard figures of the window, once it is ``min_seconds`` long and has games."""
        elapsed = time.monotonic() - self.window_start
        w = self.w
        if elapsed < min_seconds or w["games"] == 0:
            return None
        out = {
            "charts/selfplay_games_per_s": w["games"] / elapsed,
            "charts/simulations_per_s": w["simulations"] / elapsed,
            "charts/game_length": w["length_sum"] / w["games"],
            "charts/resignation_rate": w["resignations"] / w["games"],
            "charts/draw_rate": w["draws"] / w["games"],
            "charts/first_player_win_rate": w["first_player_wins"] / w["games"],
        }
        rate = self.false_positive_rate()
        if rate is not None:
            out["charts/resign_false_positive_rate"] = rate
        self.windows += 1
        self._reset_window()
        return out


def finite_json(value: Any) -> Any:
    """``value`` with every non-finite float (an Elo bound of a 100% score, a NaN loss) as
    None, so that ``json.dumps(..., allow_nan=False)`` writes strict JSON (no ``Infinity``)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(item) for item in value]
    return value


def bar_postfix(*, loss: float | None, games: int, games_per_s: float, buffer_size: int,
                min_buffer: int, minutes_left: float | None,
                cpu_minutes_left: float | None = None) -> str:
    """The progress bar's right-hand text: what the run is doing, games, speed, buffer, and
    what is left of a time budget (train.minutes, train.cpu_minutes): with one, the bar's own
    estimate (steps left at the current rate) says nothing about when the run ends."""
    if loss is not None:
        doing = f"loss {loss:.3f}"
    elif buffer_size < min_buffer:  # the bar sits at step 0 until training can start
        doing = f"filling the buffer: {buffer_size:,}/{min_buffer:,} positions"
    else:
        doing = "waiting for games"
    text = f"{doing}, games {games}, {games_per_s:.1f} games/s, buffer {buffer_size}"
    if minutes_left is not None:
        text += f", {minutes_left:.0f} min left"
    if cpu_minutes_left is not None:
        text += f", {cpu_minutes_left:.0f} CPU min left"
    return text


def format_metrics(metrics: dict[str, float]) -> str:
    """``elo/vs_random 412, solver/optimal_share 0.97``: integers bare, others to 3 digits."""
    parts = []
    for key, value in metrics.items():
        text = f"{value:.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.3g}"
        parts.append(f"{key} {text}")
    return ", ".join(parts)


def strength_text(metrics: dict[str, float]) -> str:
    """The ladder's result in a few words: W/D/L per opponent and the solver's optimal shares."""
    parts = []
    for key in metrics:
        if key.startswith("wdl/") and key.endswith("_win"):
            name = key[len("wdl/") : -len("_win")]
            w, d, lost = (metrics.get(f"wdl/{name}_{r}") for r in ("win", "draw", "loss"))
            if d is not None and lost is not None:
                parts.append(f"vs {name} {w:.0f}/{d:.0f}/{lost:.0f} W/D/L")
    search = metrics.get("solver/optimal_share_search")
    policy = metrics.get("solver/optimal_share_policy")
    if search is not None:
        parts.append(
            f"optimal moves on solver-labelled positions {search:.1%} with search"
            + (f", {policy:.1%} by the policy alone" if policy is not None else "")
        )
    return "; ".join(parts) if parts else format_metrics(metrics)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def summary_paragraph(result: Any) -> str:
    """The end-of-run paragraph: work done, losses, strength, where things are."""
    rate = result.games / max(result.seconds, 1e-9)
    sims = result.simulations / max(result.seconds, 1e-9)
    trained = result.step - result.start_step
    text = (
        f"Trained for {trained} steps (step {result.step}) in {_duration(result.seconds)}: "
        f"{result.games:,} self-play games this session ({rate:.1f} games/s, "
        f"{sims:,.0f} simulations/s), {result.positions:,} positions generated in all, "
        f"{result.buffer_size:,} in the replay buffer at the end"
    )
    if result.checkpoint is not None and result.checkpoint_buffer_size is not None:
        text += (f" ({result.checkpoint_buffer_size:,} saved with the last checkpoint, which "
                 f"--resume starts from)")
    text += "."
    if result.losses:
        text += (
            f" Final losses: policy {result.losses.get('losses/policy', float('nan')):.3f}, "
            f"value {result.losses.get('losses/value', float('nan')):.3f}."
        )
    if result.resign_false_positive_rate is not None:
        text += f" Resignation false positives: {result.resign_false_positive_rate:.1%}."
    if result.evaluation:
        text += f" Strength at step {result.evaluation_step}: {strength_text(result.evaluation)}."
    else:
        text += " Strength: no evaluation ladder result (evaluation unavailable or not run)."
    if len(result.games_by_node) > 1:
        text += f" Games by node: {', '.join(str(v) for v in result.games_by_node.values())}."
    if result.checkpoint is not None:
        text += f" Latest checkpoint: {result.checkpoint}."
    text += f" TensorBoard: tensorboard --logdir {result.run_dir}"
    return text


@dataclass
class TrainResult:
    """What a finished run reports (also written to run_dir/summary.json)."""

    run_dir: Path
    step: int
    start_step: int
    seconds: float
    games: int
    positions: int
    simulations: int
    losses: dict[str, float] = field(default_factory=dict)
    evaluation: dict[str, float] = field(default_factory=dict)
    evaluation_step: int | None = None
    checkpoint: Path | None = None
    games_by_node: dict[str, int] = field(default_factory=dict)
    resign_false_positive_rate: float | None = None
    buffer_size: int = 0
    checkpoint_buffer_size: int | None = None  # positions saved with ``checkpoint``

    def summary(self) -> str:
        """One paragraph: work done, losses, strength (the last ladder result), files."""
        return summary_paragraph(self)

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["run_dir"] = str(self.run_dir)
        out["checkpoint"] = str(self.checkpoint) if self.checkpoint else None
        return finite_json(out)
