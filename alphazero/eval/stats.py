"""Bootstrap confidence intervals for means and paired differences over positions.

The ablation scores every search arm on the *same* positions, so arm A and arm B give two
per-position score vectors ``a[P]`` and ``b[P]`` (1/0 for "played an optimal move", a value
error, ...). Their difference is estimated by the **paired bootstrap**: resample positions with
replacement, the same indices for both arms, and take the mean of ``a - b`` each time; the
interval is the central ``confidence`` share of those means (percentile bootstrap). Pairing
removes the spread due to how hard the positions are, which both arms share, so it is far
narrower than comparing two independent intervals.

>>> a = np.array([1, 1, 0, 1, 0, 1, 1, 1] * 50, dtype=float)
>>> est = paired_bootstrap(a, a)
>>> (est.estimate, est.low, est.high)
(0.0, 0.0, 0.0)
>>> est = paired_bootstrap(a, np.zeros_like(a))
>>> est.low <= 0.75 <= est.high, est.excludes_zero
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Interval", "bootstrap_mean", "paired_bootstrap"]

_CHUNK = 256  # resamples drawn at once: bounds memory at _CHUNK * P indices


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    resamples: int
    samples: int  # positions (pairs) resampled

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of 0 (a significant difference)."""
        return self.low > 0.0 or self.high < 0.0

    def format(self, scale: float = 1.0, digits: int = 1) -> str:
        """``+2.3 [+0.4, +4.1]`` with values multiplied by ``scale`` (100: percentage points)."""
        f = f"{{:+.{digits}f}}"
        return (f"{f.format(scale * self.estimate)} [{f.format(scale * self.low)}, "
                f"{f.format(scale * self.high)}]")


def bootstrap_mean(values: np.ndarray, *, resamples: int = 2000, confidence: float = 0.95,
                   seed: int = 0) -> Interval:
    """Mean of ``values`` (float[P]) with a percentile bootstrap interval over its entries."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"bootstrap needs a non-empty 1-D array, got shape {values.shape}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, not {resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    n = values.size
    means = np.empty(resamples)
    for start in range(0, resamples, _CHUNK):
        count = min(_CHUNK, resamples - start)
        idx = rng.integers(0, n, size=(count, n))  # [count, P] resampled positions
        means[start:start + count] = values[idx].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Interval(estimate=float(values.mean()), low=float(low), high=float(high),
                    confidence=confidence, resamples=resamples, samples=n)


def paired_bootstrap(a: np.ndarray, b: np.ndarray, *, resamples: int = 2000,
                     confidence: float = 0.95, seed: int = 0) -> Interval:
    """Mean of ``a - b`` over paired entries (float[P] each, entry i of both from position i),
    with a percentile interval from resampling positions: the same indices for both."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have the same shape, got {a.shape} and {b.shape}")
    return bootstrap_mean(a - b, resamples=resamples, confidence=confidence, seed=seed)
