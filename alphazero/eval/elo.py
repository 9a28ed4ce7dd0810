"""Elo differences from match results, with a confidence interval.

A match of N games gives player A ``wins``, ``draws`` and ``losses``; its score is
``s = (wins + draws / 2) / N`` and the Elo difference is the logistic curve's inverse,
``400 * log10(s / (1 - s))``. The interval comes from the score's standard error, with draws
counted as half points (per-game results 1, 1/2, 0 and their sample variance), a normal
interval on the score clipped to [0, 1], and both ends pushed through the same curve.

When every game ended the same way the sample variance is zero, so that interval would be a
point. Then the rate of any other result is bounded instead: if it were ``r``, N games in a row
without one would have probability ``(1 - r) ** N``; the largest ``r`` with that probability
still ``>= (1 - confidence) / 2`` is the bound. A 100% score is ``+inf`` Elo with a finite lower
bound (20 wins out of 20: at least +277), 0% is the mirror image, and all draws give
``0 +- (the Elo of r / 2)``.

>>> round(elo_from_score(0.75), 1)
190.8
>>> est = elo_difference(20, 0, 0)
>>> est.elo, round(est.low), est.high
(inf, 277, inf)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

__all__ = ["EloEstimate", "elo_difference", "elo_from_score", "format_elo"]


def elo_from_score(score: float) -> float:
    """Elo difference that predicts the expected ``score`` in [0, 1] (+-inf at 1 and 0)."""
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"a score is a share in [0, 1], got {score}")
    if score == 1.0:
        return math.inf
    if score == 0.0:
        return -math.inf
    return 400.0 * math.log10(score / (1.0 - score))


@dataclass(frozen=True)
class EloEstimate:
    """An Elo difference (A minus B) and its interval; ``low``/``high`` may be infinite."""

    elo: float
    low: float
    high: float
    score: float  # A's share of the points, draws counting half
    score_low: float
    score_high: float
    games: int
    confidence: float

    @property
    def bounded(self) -> bool:
        """True when both ends of the interval are finite."""
        return math.isfinite(self.low) and math.isfinite(self.high)

    @property
    def conservative(self) -> float:
        """The point estimate, or the finite end of the interval when it is +-inf.

        A finite number to log and plot: for a 100% score it is the lower bound, so it reads
        "at least this many Elo"."""
        if math.isfinite(self.elo):
            return self.elo
        return self.low if self.elo > 0 else self.high


def elo_difference(wins: int, draws: int, losses: int, *,
                   confidence: float = 0.95) -> EloEstimate:
    """Elo difference of a player who scored ``wins``/``draws``/``losses``, with an interval.

    Raises ValueError for negative counts, no games, or a confidence outside (0, 1).
    """
    if min(wins, draws, losses) < 0:
        raise ValueError(f"game counts must be >= 0, got {wins}/{draws}/{losses}")
    games = wins + draws + losses
    if games == 0:
        raise ValueError("no games played: an Elo difference needs at least one result")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    score = (wins + 0.5 * draws) / games
    variance = (wins * (1.0 - score) ** 2 + draws * (0.5 - score) ** 2
                + losses * score ** 2) / games  # per game
    if variance > 0.0:
        z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
        half_width = z * math.sqrt(variance / games)
        score_low, score_high = max(0.0, score - half_width), min(1.0, score + half_width)
    else:  # every game had the same result: bound the rate of any other result
        other_rate = 1.0 - ((1.0 - confidence) / 2.0) ** (1.0 / games)
        if wins:
            score_low, score_high = 1.0 - other_rate, 1.0
        elif losses:
            score_low, score_high = 0.0, other_rate
        else:
            score_low, score_high = 0.5 - other_rate / 2.0, 0.5 + other_rate / 2.0
    return EloEstimate(elo=elo_from_score(score), low=elo_from_score(score_low),
                       high=elo_from_score(score_high), score=score, score_low=score_low,
                       score_high=score_high, games=games, confidence=confidence)


def format_elo(estimate: EloEstimate) -> str:
    """One line for people, e.g. ``+191 (95% CI +82 to +353)`` or ``> +277 (95% bound)``."""
    percent = f"{100 * estimate.confidence:g}%"
    if estimate.elo == math.inf:
        return f"> {estimate.low:+.0f} ({percent} lower bound: A scored every point)"
    if estimate.elo == -math.inf:
        return f"< {estimate.high:+.0f} ({percent} upper bound: A scored no point)"
    low = f"{estimate.low:+.0f}" if math.isfinite(estimate.low) else "-inf"
    high = f"{estimate.high:+.0f}" if math.isfinite(estimate.high) else "+inf"
    return f"{estimate.elo:+.0f} ({percent} CI {low} to {high})"
