"""Elo differences and their intervals on cases worked out by hand."""

import math

import pytest

from alphazero.eval.elo import elo_difference, elo_from_score, format_elo


def test_elo_from_score_known_points():
    assert elo_from_score(0.5) == 0.0
    assert elo_from_score(0.75) == pytest.approx(400 * math.log10(3))  # 190.85
    assert elo_from_score(10 / 11) == pytest.approx(400.0)  # 10:1 odds is 400 Elo
    assert elo_from_score(0.2) == pytest.approx(-elo_from_score(0.8))
    assert elo_from_score(1.0) == math.inf and elo_from_score(0.0) == -math.inf
    with pytest.raises(ValueError, match="share"):
        elo_from_score(1.5)


def test_interval_from_the_score_standard_error():
    # 30 wins, 10 losses: s = 0.75, per-game variance 0.1875, se = sqrt(0.1875 / 40).
    est = elo_difference(30, 0, 10)
    se = math.sqrt(0.1875 / 40)
    assert est.score == 0.75 and est.games == 40
    assert est.elo == pytest.approx(190.8485, abs=1e-3)
    assert est.score_low == pytest.approx(0.75 - 1.959964 * se, abs=1e-6)
    assert est.low == pytest.approx(elo_from_score(0.75 - 1.959964 * se), abs=1e-3)  # ~ +82
    assert est.high == pytest.approx(elo_from_score(0.75 + 1.959964 * se), abs=1e-3)  # ~ +353
    assert est.bounded


def test_draws_count_half_and_shrink_the_variance():
    # 5 wins, 30 draws, 5 losses: score 0.5, per-game variance (10 * 0.25) / 40 = 0.0625.
    est = elo_difference(5, 30, 5)
    assert est.elo == 0.0
    assert est.score_high == pytest.approx(0.5 + 1.959964 * math.sqrt(0.0625 / 40), abs=1e-6)
    no_draws = elo_difference(20, 0, 20)
    assert est.high < no_draws.high  # same score, fewer decisive games: a narrower interval


def test_mirror_results_mirror_the_interval():
    a, b = elo_difference(12, 5, 3), elo_difference(3, 5, 12)
    assert a.elo == pytest.approx(-b.elo)
    assert a.low == pytest.approx(-b.high) and a.high == pytest.approx(-b.low)


def test_more_games_narrow_the_interval():
    small, large = elo_difference(6, 0, 4), elo_difference(60, 0, 40)
    assert small.elo == pytest.approx(large.elo)
    assert large.high - large.low < small.high - small.low


def test_perfect_score_reports_a_lower_bound():
    est = elo_difference(20, 0, 0)
    assert est.elo == math.inf and est.high == math.inf
    # (1 - r) ** 20 = 0.025 bounds the rate r of a non-win: score >= 0.025 ** (1 / 20).
    assert est.score_low == pytest.approx(0.025 ** (1 / 20))
    assert est.low == pytest.approx(277.39, abs=0.01)
    assert est.conservative == est.low and not est.bounded
    assert format_elo(est).startswith("> +277")
    zero = elo_difference(0, 0, 20)
    assert zero.elo == -math.inf and zero.high == pytest.approx(-277.39, abs=0.01)
    assert format_elo(zero).startswith("< -277")


def test_all_draws_get_a_finite_symmetric_interval():
    est = elo_difference(0, 20, 0)
    rate = 1 - 0.025 ** (1 / 20)
    assert est.elo == 0.0 and est.low == pytest.approx(-est.high)
    assert est.score_high == pytest.approx(0.5 + rate / 2)
    assert 0 < est.high < 100


def test_near_perfect_score_has_an_open_upper_end():
    est = elo_difference(39, 0, 1)
    assert math.isfinite(est.elo) and math.isfinite(est.low) and est.high == math.inf
    assert "+inf" in format_elo(est)


@pytest.mark.parametrize("counts", [(-1, 0, 3), (0, 0, 0)])
def test_bad_counts(counts):
    with pytest.raises(ValueError):
        elo_difference(*counts)


def test_confidence_level_changes_the_width():
    wide, narrow = elo_difference(30, 0, 10, confidence=0.99), elo_difference(30, 0, 10,
                                                                              confidence=0.8)
    assert wide.low < narrow.low < narrow.high < wide.high
    with pytest.raises(ValueError, match="confidence"):
        elo_difference(1, 1, 1, confidence=1.0)
