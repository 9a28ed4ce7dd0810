"""benchmarks/bench_learned_backup.py: the learned backup against PUCT on held-out positions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nets.search_weights import LearnedSearch


def test_compares_the_backup_with_puct(benchmark_script, tmp_path, capsys):
    bench = benchmark_script("bench_learned_backup")
    learned = LearnedSearch.fresh(0, game="connect4")
    learned.save(tmp_path / "none.pt")
    with pytest.raises(SystemExit):  # no backup in the file: a usage error, one line
        bench.main(["--weights", str(tmp_path / "none.pt")])
    assert "has no learned backup" in capsys.readouterr().err
    learned.backup = np.array([1.0, 0.0, 0.0, 0.0])  # a max backup: differs from PUCT
    learned.save(tmp_path / "max.pt")
    out = tmp_path / "bench.json"
    assert bench.main(["--weights", str(tmp_path / "max.pt"), "--positions", "30",
                       "--budgets", "4,8", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| 4 |" in text and "| 8 |" in text and "+1.000, +0.000" in text
    rows = json.loads(out.read_text())["rows"]
    assert [r["budget"] for r in rows] == [4, 8] and len(rows[0]["puct"]) == 30
    d, low, high = rows[1]["diff"]
    assert d == pytest.approx(np.mean(rows[1]["learned_backup"]) - np.mean(rows[1]["puct"]))
    assert low <= d <= high


def test_shipped_learned_against_the_best_handwritten_arm(benchmark_script, tmp_path, capsys):
    bench = benchmark_script("bench_shipped_learned")
    learned = LearnedSearch.fresh(0, game="connect4")
    learned.save(tmp_path / "w.pt")
    with pytest.raises(SystemExit):  # a training split is refused
        bench.main(["--weights", str(tmp_path / "w.pt"), "--seed", "1"])
    assert "training or tuning split" in capsys.readouterr().err
    out = tmp_path / "b.json"
    assert bench.main(["--weights", str(tmp_path / "w.pt"), "--positions", "16", "--tuning",
                       "12", "--budgets", "4", "--gumbel-seeds", "2", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["best"] in bench.HANDWRITTEN and len(row["learned"]) == 16
    best = max(bench.HANDWRITTEN, key=lambda a: np.mean(row[a]))
    assert row["best"] == best
    d = row["diff"][best][0]
    assert d == pytest.approx(np.mean(row["learned"]) - np.mean(row[best]))
    assert f"vs {best}" in capsys.readouterr().out
