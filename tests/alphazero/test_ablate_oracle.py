"""alphazero ablate on chess: the arms scored by the stored best-move oracle
(alphazero.ablate.oracle), with the shipped chess network and learned search weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alphazero.ablate import load_ablation_config, run_ablation
from alphazero.ablate.results import index_rows, lookup
from alphazero.cli import main
from alphazero.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "docs" / "results" / "chess-learned" / "search.pt"


def chess_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "chess.yaml"
    path.write_text(f"game: chess\ncheckpoints: {{shipped: shipped}}\nlearned_weights: "
                    f"{WEIGHTS}\narms: [policy, puct, gumbel, learned]\nbudgets: [2, 4]\n"
                    f"seeds: [0, 1]\npositions: 10\nresamples: 200\n{extra}")
    return path


@pytest.mark.parametrize("extra, match", [
    ("arms: [puct, puct_tuned]", "puct_tuned needs a solver-labelled tuning split"),
    ("oracle_sets: [heldout, sts]", "oracle_sets must be .* not 'sts'"),
    ("min_gap: -5", "min_gap must be >= 0"),
])
def test_bad_chess_config_is_named(tmp_path, extra, match):
    path = tmp_path / "bad.yaml"
    path.write_text(f"game: chess\ncheckpoints: {{shipped: shipped}}\nlearned_weights: x.pt\n"
                    f"arms: [puct, learned]\n{extra}\n")
    with pytest.raises(ConfigError, match=match):
        load_ablation_config(str(path))


def test_chess_learned_arms_need_weights(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("game: chess\ncheckpoints: {shipped: shipped}\narms: [puct, learned]\n")
    with pytest.raises(ConfigError, match="alphazero train-search chess"):
        load_ablation_config(str(path))


def test_chess_has_no_boundary_study(tmp_path, capsys):
    assert main(["ablate", str(chess_config(tmp_path)), "--study", "boundary", "--out",
                 str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "boundary study needs a solver" in err and "Traceback" not in err


def test_shipped_chess_config_loads():
    cfg = load_ablation_config("chess", quick=True)
    assert cfg.oracle and cfg.baseline == "puct" and cfg.ordered_arms[0] == "puct"
    assert "puct_tuned" not in cfg.arms and cfg.double_budget


def test_chess_arms_study_scores_every_arm_against_the_oracle(tmp_path):
    cfg = load_ablation_config(str(chess_config(tmp_path)))
    paths = run_ablation(cfg, tmp_path / "run", log=lambda line: None)
    assert {p.name for p in paths} >= {"results.json", "summary.md", "accuracy_vs_budget.png"}
    rows = json.loads((tmp_path / "run" / "results.json").read_text())
    idx = index_rows(rows)
    for name in ("heldout", "wac"):
        assert lookup(idx, "-", "-", 0, "evaluation_positions", study="data",
                      stratum=name) == 10
        for budget in (2, 4, 8):  # the baseline also at twice each budget
            assert 0 <= lookup(idx, "puct", "shipped", budget, "best_share", stratum=name) <= 1
        for arm in ("gumbel", "learned"):
            for budget in (2, 4):
                mine = lookup(idx, arm, "shipped", budget, "best_share", stratum=name)
                for tag, base in (("", budget), ("2n", 2 * budget)):
                    ref = lookup(idx, "puct", "shipped", base, "best_share", stratum=name)
                    d = lookup(idx, arm, "shipped", budget, f"best_share_diff{tag}",
                               stratum=name)
                    low, high = (lookup(idx, arm, "shipped", budget,
                                        f"best_share_diff{tag}{s}", stratum=name)
                                 for s in ("_low", "_high"))
                    assert d == pytest.approx(mine - ref) and low <= d + 1e-12 <= high + 2e-12
        # gumbel samples noise: one row per seed, the pooled row their mean
        seeds = [lookup(idx, "gumbel", "shipped", 4, "best_share", seed=s, stratum=name)
                 for s in (0, 1)]
        assert lookup(idx, "gumbel", "shipped", 4, "best_share", stratum=name) == \
            pytest.approx(np.mean(seeds))
        assert np.isnan(lookup(idx, "learned", "shipped", 4, "best_share", seed=1,
                               stratum=name))  # deterministic: run once
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert "best-move oracle" in summary and "against `puct` at twice the budget" in summary
    assert "| learned |" in summary and "`wac`" in summary


def test_chess_report_redraws_from_results(tmp_path):
    config = chess_config(tmp_path, "oracle_sets: [wac]\n")
    config.write_text(config.read_text().replace("arms: [policy, puct, gumbel, learned]",
                                                 "arms: [puct, gumbel_greedy]"))
    out = tmp_path / "run"
    assert main(["ablate", str(config), "--out", str(out)]) == 0
    first = (out / "summary.md").read_text()
    (out / "summary.md").unlink()
    assert main(["ablate", str(config), "--out", str(out), "--report"]) == 0
    again = (out / "summary.md").read_text()
    assert again == first and "| gumbel_greedy |" in again and "`heldout`" not in again


def test_missing_learned_weights_is_one_line_before_any_work(tmp_path, capsys):
    config = chess_config(tmp_path)
    config.write_text(config.read_text().replace(str(WEIGHTS), str(tmp_path / "none.pt")))
    assert main(["ablate", str(config), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "learned_weights not found" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()
