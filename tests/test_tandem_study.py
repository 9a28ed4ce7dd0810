"""benchmarks/tandem_study.py: the analysis of the tandem study (times to a threshold,
censoring, the report), on hand-made ladder tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

KEPT_RUN = Path(__file__).resolve().parent.parent / "docs/results/tandem-study/tandem-seed0"


@pytest.fixture(scope="module")
def study(benchmark_script):
    return benchmark_script("tandem_study")


def table(study, *points):
    return [{"step": i, "cpu_seconds": t, "elapsed_seconds": t / 2, study.METRIC: v}
            for i, (t, v) in enumerate(points)]


def test_time_to_a_threshold_is_interpolated_or_censored(study):
    rows = table(study, (100, 0.80), (200, 0.88), (300, 0.92), (400, 0.91))
    t, reached = study.time_to(rows, 0.90, "cpu_seconds")
    assert reached and t == pytest.approx(250.0)
    assert study.time_to(rows, 0.93, "cpu_seconds") == (400, False)
    assert study.time_to(table(study, (50, 0.95)), 0.90, "cpu_seconds")[0] == pytest.approx(
        50 * 0.90 / 0.95)


def test_report_reads_runs_and_compares_the_arms(study, tmp_path, capsys):
    curves = {"puct": [(1000, 0.85), (2000, 0.91), (3000, 0.94)],
              "gumbel": [(1000, 0.86), (2000, 0.90), (3000, 0.92)],
              "tandem": [(1000, 0.91), (2000, 0.93), (3000, 0.94)]}
    for arm, points in curves.items():
        for seed in (0, 1):
            path = tmp_path / f"{arm}-seed{seed}"
            path.mkdir()
            lines = ["step,elapsed_seconds,cpu_seconds," + study.METRIC]
            lines += [f"{i},{t / 2},{t + 10 * seed},{v}" for i, (t, v) in enumerate(points)]
            (path / "evaluation.csv").write_text("\n".join(lines) + "\n")
    assert study.main(["report", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tandem / puct (the better baseline) at 90%" in out
    assert "gumbel: CPU seconds to 93%" in out and "censored" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["tandem"]["0"]["cpu_seconds_to_0.9"] == [pytest.approx(1000 * 0.9 / 0.91), True]


def test_search_compares_a_runs_learned_search_with_puct(study, capsys):
    assert study.main(["search", str(KEPT_RUN), "--positions", "20", "--budgets", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 simulations: PUCT" in out and "learned" in out
