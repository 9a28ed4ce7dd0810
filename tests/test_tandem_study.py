"""benchmarks/tandem_study.py: the analysis of the tandem study (times to a threshold,
censoring, the report), on hand-made ladder tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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
    assert "tandem: final share 94.0% [94.0, 94.0] over 2 seeds" in out
    assert "final share, tandem - puct (the better baseline): +0.0 points" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["tandem"]["0"]["cpu_seconds_to_0.9"] == [pytest.approx(1000 * 0.9 / 0.91), True]


def test_search_compares_a_runs_learned_search_with_puct(study, capsys):
    assert study.main(["search", str(KEPT_RUN), "--positions", "20", "--budgets", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 simulations: PUCT" in out and "learned" in out


def test_report_draws_the_learning_curves(study, tmp_path, capsys):
    for arm, top in (("puct", 0.9), ("tandem", 0.95)):
        for seed in (0, 1, 2):
            path = tmp_path / f"{arm}-seed{seed}"
            path.mkdir()
            lines = ["step,elapsed_seconds,cpu_seconds," + study.METRIC]
            lines += [f"{i},{t},{t + 7 * seed},{top * t / 3000 - 0.01 * seed}"
                      for i, t in enumerate((1000, 2000, 3000))]
            (path / "evaluation.csv").write_text("\n".join(lines) + "\n")
    figure = tmp_path / "curves.png"
    assert study.main(["report", "--root", str(tmp_path), "--figure", str(figure)]) == 0
    assert figure.stat().st_size > 10_000 and "learning curves" in capsys.readouterr().out
    tables = [study.rows(tmp_path / f"tandem-seed{s}") for s in range(3)]
    grid, mean, low, high = study.mean_curve(tables, points=5)
    assert grid[0] == pytest.approx(1014) and grid[-1] == pytest.approx(3000)
    assert mean[-1] == pytest.approx(0.95 - 0.01 - 0.95 * 14 / 3000 / 3, abs=2e-3)
    assert (low <= mean + 1e-12).all() and (mean <= high + 1e-12).all() and (high > low).any()


def test_boundary_table_reach_only_and_cost(study):
    budgets = (2, 4, 8)
    # 4 positions; rows = budgets. puct answers 0 and 1 eventually; tandem also answers 2 early.
    puct = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0]], bool)
    tandem = np.array([[1, 0, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0]], bool)
    solved = {("puct", 0, "puct"): puct, ("puct", 1, "puct"): puct,
              ("tandem", 0, "learned"): tandem, ("tandem", 1, "learned"): tandem,
              ("tandem", 0, "puct"): puct, ("tandem", 1, "puct"): puct}
    table = study.boundary_table(solved, budgets)
    rows = table["arms"]
    assert rows["puct"]["share"] == [0.25, 0.25, 0.5] and rows["puct"]["reach"] == 0.5
    assert rows["tandem"]["reach"] == 0.75 and rows["tandem"]["only"] == 0.25
    assert rows["puct"]["only"] == 0.0
    assert rows["tandem"]["sims_to_match"] == 2  # 0.5 at 2 sims: puct's share at 8
    assert rows["puct"]["sims_to_match"] is None  # never reaches tandem's 0.75
    assert rows["tandem"]["puct_share"] == [0.25, 0.25, 0.5]


def test_boundary_searches_the_kept_run(study, tmp_path, capsys):
    import shutil

    shutil.copytree(KEPT_RUN, tmp_path / "tandem-seed0")
    out = tmp_path / "b.json"
    assert study.main(["boundary", "--root", str(tmp_path), "--positions", "24",
                       "--budgets", "2,4", "--out", str(out)]) == 0
    table = json.loads(out.read_text())
    row = table["arms"]["tandem"]
    assert table["positions"] == 24 and row["seeds"] == 1 and len(row["share"]) == 2
    assert 0.0 < row["reach"] <= 1.0 and row["only"] is None and len(row["puct_share"]) == 2
    answers = np.load(out.with_suffix(".npz"))
    assert answers["tandem-seed0-learned"].shape == (2, 24)
    assert "| tandem | 1 |" in capsys.readouterr().out


def test_run_refuses_an_unknown_arm(study, tmp_path, capsys):
    assert study.main(["run", "--arms", "puct,alphabeta", "--root", str(tmp_path)]) == 2
    assert "unknown arm 'alphabeta'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
    assert "search_training.target=false" in study.ARMS["tandem-notarget"]


def test_keep_copies_a_finished_runs_small_files(study, tmp_path, capsys):
    import shutil

    from nets.checkpoint import load_checkpoint

    run = tmp_path / "runs" / "tandem-seed4"
    (run / "checkpoints").mkdir(parents=True)
    for name in ("evaluation.csv", "config.yaml", "search.pt"):
        shutil.copy2(KEPT_RUN / name, run / name)
    shutil.copy2(KEPT_RUN / "final.pt", run / "checkpoints" / "step_00000700.pt")
    (run / "checkpoints" / "step_00000700.replay.npz").write_bytes(b"big")
    (run / "events.out.tfevents.1.vm.1.0").write_bytes(b"events")
    assert study.main(["keep", str(run), "--into", str(tmp_path / "kept")]) == 2  # unfinished
    assert "not a finished run" in capsys.readouterr().err
    (run / "summary.json").write_text("{}\n")
    assert study.main(["keep", str(run), "--into", str(tmp_path / "kept")]) == 0
    kept = tmp_path / "kept" / "tandem-seed4"
    assert sorted(p.name for p in kept.iterdir()) == [
        "config.yaml", "evaluation.csv", "events.out.tfevents.1.vm.1.0", "final.pt", "search.pt",
        "summary.json"]
    final = load_checkpoint(kept / "final.pt")
    assert final["step"] == 700 and final["run"] == "tandem-seed4" and "optimizer" not in final
    assert study.main(["search", str(kept), "--positions", "8", "--budgets", "2"]) == 0


def test_boundary_names_a_missing_learned_search(study, tmp_path, capsys):
    import shutil

    run = tmp_path / "tandem-seed0"
    run.mkdir()
    shutil.copy2(KEPT_RUN / "final.pt", run / "final.pt")  # no search.pt
    assert study.main(["boundary", "--root", str(tmp_path), "--positions", "4",
                       "--budgets", "2"]) == 2
    err = capsys.readouterr().err
    assert "learned search weights not found" in err and "Traceback" not in err


def test_report_reads_steps_up_to_a_horizon_and_compares_follow_ups(study, tmp_path, capsys):
    # the follow-up ran on a faster machine: fewer CPU seconds a step, more steps in all
    runs = {"tandem": (600, [0.85, 0.89, 0.91, 0.92]),
            "tandem-notarget": (300, [0.86, 0.90, 0.92, 0.93, 0.95, 0.96])}
    for arm, (per_step, shares) in runs.items():
        for seed in ((0, 1) if arm == "tandem" else (0,)):
            path = tmp_path / f"{arm}-seed{seed}"
            path.mkdir()
            lines = ["step,elapsed_seconds,cpu_seconds," + study.METRIC]
            lines += [f"{1000 * (i + 1)},{per_step * (i + 1) / 2},{per_step * (i + 1)},{v}"
                      for i, v in enumerate(shares)]
            (path / "evaluation.csv").write_text("\n".join(lines) + "\n")
    out_file = tmp_path / "steps.json"
    assert study.main(["report", "--root", str(tmp_path), "--clock", "step", "--until", "4000",
                       "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    report = json.loads(out_file.read_text())
    assert not (tmp_path / "report.json").exists()
    # 90% at step 2,000 against tandem's 2,500 (interpolated): 0.80x; at 93% tandem is
    # censored at the horizon, not at its own end
    assert report["tandem-notarget"]["0"]["step_to_0.9"] == [pytest.approx(2000), True]
    assert report["tandem"]["1"]["step_to_0.9"] == [pytest.approx(2500), True]
    assert "tandem-notarget / tandem (a follow-up) at 90%: 0.80x" in out
    assert "tandem: steps to 93%: mean 4,000" in out and "censored" in out
    # the final share is read at the horizon: 0.93 (row 4,000), not the run's last 0.96
    assert "final share, tandem-notarget - tandem (a follow-up): +1.0 points" in out
    assert study.main(["report", "--root", str(tmp_path), "--arms", "tandem",
                       "--out", str(out_file)]) == 0
    assert "notarget" not in capsys.readouterr().out
    assert study.main(["report", "--root", str(tmp_path), "--arms", "tandem,bogus"]) == 2
    assert "unknown arm 'bogus'" in capsys.readouterr().err
    # a horizon before every ladder row, an output in no directory: one line each, no file
    assert study.main(["report", "--root", str(tmp_path), "--until", "10"]) == 1
    assert "with ladder rows up to cpu_seconds 10" in capsys.readouterr().out
    assert study.main(["report", "--root", str(tmp_path), "--out",
                       str(tmp_path / "missing" / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "no directory" in err and "Traceback" not in err
    assert not (tmp_path / "report.json").exists()
