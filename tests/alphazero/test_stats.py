"""Paired bootstrap intervals on synthetic data with a known answer."""

import numpy as np
import pytest

from alphazero.eval.stats import Interval, bootstrap_mean, paired_bootstrap


def test_known_difference_is_covered():
    rng = np.random.default_rng(0)
    n = 2000
    b = (rng.random(n) < 0.6).astype(float)
    a = b.copy()
    flip = rng.choice(n, size=200, replace=False)  # 10% of positions: b wrong, a right
    b[flip], a[flip] = 0.0, 1.0
    est = paired_bootstrap(a, b, resamples=1000)
    assert est.estimate == pytest.approx(0.1)
    assert est.low <= 0.1 <= est.high and est.excludes_zero
    assert est.high - est.low < 0.05  # pairing: the shared difficulty cancels


def test_zero_difference_covers_zero():
    rng = np.random.default_rng(1)
    difficulty = rng.random(500)
    a = (rng.random(500) < difficulty).astype(float)  # same chance, drawn independently
    b = (rng.random(500) < difficulty).astype(float)
    est = paired_bootstrap(a, b, resamples=1000)
    assert est.low <= 0.0 <= est.high and not est.excludes_zero
    same = paired_bootstrap(a, a)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)


def test_coverage_is_near_nominal():
    """Over many synthetic studies with a known true difference, ~95% of intervals hold it."""
    rng = np.random.default_rng(2)
    truth = 0.5 * 0.10 - 0.5 * 0.05  # a fixes 10% of b's misses and breaks 5% of its hits
    hits, trials = 0, 200
    for t in range(trials):
        b = (rng.random(300) < 0.5).astype(float)
        a = np.where((b == 0) & (rng.random(300) < 0.10), 1.0, b)
        a = np.where((b == 1) & (rng.random(300) < 0.05), 0.0, a)
        est = paired_bootstrap(a, b, resamples=300, seed=t)
        hits += est.low <= truth <= est.high
    assert 0.88 <= hits / trials <= 0.99


def test_bootstrap_mean_and_errors():
    est = bootstrap_mean(np.array([0.0, 1.0] * 100), resamples=500)
    assert isinstance(est, Interval) and est.samples == 200
    assert est.low < 0.5 < est.high
    assert est.format(100).startswith("+50.0 [")
    with pytest.raises(ValueError, match="same shape"):
        paired_bootstrap(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_mean(np.zeros(0))
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_mean(np.ones(3), confidence=1.0)
