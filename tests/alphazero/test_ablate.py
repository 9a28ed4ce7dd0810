"""The ablate command on tic-tac-toe with fresh networks and tiny budgets."""

import csv
import json

import numpy as np
import pytest
import torch

from alphazero.ablate import (
    ARMS,
    BASELINE,
    arm_setup,
    balanced_openings,
    incremental_puct,
    load_ablation_config,
    matching_budget,
    search_positions,
    strata_of,
)
from alphazero.ablate.arms import evaluation_positions
from alphazero.cli import main
from alphazero.config import ConfigError, load_config
from alphazero.eval.labelled import labelled_positions
from games import get_game
from games.tictactoe import perfect_values
from nets.checkpoint import save_checkpoint
from nets.search_weights import LearnedSearch
from nets.torch_net import PolicyValueNet, make_evaluate_fn

TTT = get_game("tictactoe")
SMALL = """\
game: tictactoe
checkpoints:
  saved: {path}
  other: "fresh:1"
budgets: [2, 4]
seeds: [0, 1]
positions: 40
tuning_positions: 20
c_grid: [0.5, 2.0]
strata: [4, 6]
openings: 2
match_checkpoints: [saved]
match_arms: [puct, gumbel, gumbel_greedy, learned_readout, learned_selection, learned_backup,
             learned]
opening_plies: [1, 2]
opening_margin: 0
resamples: 200
train: {{iterations: 2, positions: 24, batch: 4, budgets: [2, 4]}}
boundary: {{max_budget: 8, positions: 20}}
"""


@pytest.fixture(scope="module")
def small_config(tmp_path_factory):
    """An ablation YAML over a saved fresh tic-tac-toe network and a 'fresh:1' one."""
    root = tmp_path_factory.mktemp("ablate")
    torch.manual_seed(0)
    network = load_config("tictactoe").network
    model = PolicyValueNet(network, TTT.observation_shape, TTT.num_actions)
    path = root / "net.pt"
    save_checkpoint(path, model_state=model.state_dict(), network_config=network,
                    game="tictactoe", observation_shape=TTT.observation_shape,
                    num_actions=TTT.num_actions)
    config = root / "ablate.yaml"
    config.write_text(SMALL.format(path=path))
    return config


@pytest.fixture(scope="module")
def evaluate():
    torch.manual_seed(0)
    model = PolicyValueNet(load_config("tictactoe").network, TTT.observation_shape,
                           TTT.num_actions)
    return make_evaluate_fn(model)


def test_arms_study_writes_every_output(small_config, tmp_path):
    out = tmp_path / "run"
    assert main(["ablate", str(small_config), "--out", str(out)]) == 0
    for name in ("results.csv", "results.json", "summary.md", "accuracy_vs_budget.png",
                 "elo_vs_budget.png", "time_per_move.png", "learned_search.pt"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["study", "arm", "checkpoint", "budget", "seed", "stratum",
                             "metric", "value"]
    same = json.loads((out / "results.json").read_text())
    assert [(r["arm"], r["metric"], str(r["seed"])) for r in same] == \
        [(r["arm"], r["metric"], r["seed"]) for r in rows]
    arms = {r["arm"] for r in rows if r["study"] == "arms"}
    assert arms == set(ARMS)
    share = {(r["arm"], r["checkpoint"], r["budget"]) for r in rows
             if r["metric"] == "optimal_share" and r["seed"] == "all" and r["stratum"] == "all"}
    for arm in ARMS:
        budgets = ["0"] if arm == "policy" else ["2", "4"]
        assert all((arm, c, b) in share for c in ("saved", "other") for b in budgets), arm
    gumbel_seeds = {r["seed"] for r in rows if r["arm"] == "gumbel" and r["metric"] == "elo"}
    assert gumbel_seeds == {"0", "1", "all"}  # stochastic: every seed
    assert {r["seed"] for r in rows if r["arm"] == "puct" and r["metric"] == "elo"} == \
        {"0", "all"}  # deterministic: once
    diff = [r for r in rows if r["metric"] == "optimal_share_diff_low" and r["arm"] != BASELINE]
    assert diff and {r["stratum"] for r in diff} >= {"all", "4-5", "6+"}
    games = [float(r["value"]) for r in rows if r["metric"] == "games" and r["seed"] == "0"]
    assert games and all(g == 4 for g in games)  # 2 openings x both colours
    assert {r["checkpoint"] for r in rows if r["metric"] == "games"} == {"saved"}
    assert {r["arm"] for r in rows if r["metric"] == "games"} == set(ARMS) - {"policy", BASELINE}
    summary = (out / "summary.md").read_text()
    assert "## Checkpoint `saved`" in summary and "Pre-registered targets" in summary
    assert "## Checkpoint `other`" in summary  # no matches there: accuracy tables only
    assert "No head-to-head matches on this checkpoint" in summary and "nan/nan" not in summary
    # --report redraws summary and figures from results.json alone (say after a stopped run)
    (out / "summary.md").unlink()
    (out / "accuracy_vs_budget.png").unlink()
    assert main(["ablate", str(small_config), "--out", str(out), "--report"]) == 0
    assert (out / "summary.md").read_text() == summary
    assert (out / "accuracy_vs_budget.png").stat().st_size > 0
    assert main(["ablate", str(small_config), "--out", str(tmp_path / "none"), "--report"]) == 2
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "results.json").write_text('[{"arm": "puct"}]')
    assert main(["ablate", str(small_config), "--out", str(tmp_path / "junk"), "--report"]) == 2


def test_no_matches_and_a_fresh_evaluation_seed(small_config, tmp_path):
    """openings: 0 plays no matches; evaluation_seed picks the labelled split evaluated (a
    confirmatory run on positions no earlier study saw)."""
    text = small_config.read_text()
    text = text[:text.index("openings:")] + ("arms: [puct]\nresamples: 200\nboundary: "
                                             "{max_budget: 4, positions: 12}\n")
    config = tmp_path / "nomatch.yaml"
    config.write_text(text)
    out = tmp_path / "run"
    sets = ["--set", "openings=0", "--set", "evaluation_seed=3"]
    assert main(["ablate", str(config), "--out", str(out), *sets]) == 0
    rows = json.loads((out / "results.json").read_text())
    assert not [r for r in rows if r["metric"] == "games"]
    assert (out / "openings.txt").read_text() == ""
    assert not (out / "elo_vs_budget.png").exists()  # no matches, no Elo figure
    assert (out / "accuracy_vs_budget.png").is_file()
    summary = (out / "summary.md").read_text()
    assert "labelled seed 3" in summary and "no matches (openings: 0)" in summary
    assert "No head-to-head matches on this checkpoint (openings: 0)" in summary
    cfg = load_ablation_config(str(config), overrides=["openings=0", "evaluation_seed=3"])
    assert cfg.evaluation_seed == 3 and cfg.openings == 0
    assert [p.moves for p in evaluation_positions(TTT, 40, [], seed=3)] != \
        [p.moves for p in evaluation_positions(TTT, 40, [], seed=0)]
    assert main(["ablate", str(config), "--out", str(tmp_path / "b"), "--study", "boundary",
                 *sets]) == 0
    summary = (tmp_path / "b" / "boundary.md").read_text()
    assert "(labelled seed 3)" in summary


def test_training_method_is_accepted(tmp_path):
    path = tmp_path / "method.yaml"
    path.write_text("game: tictactoe\ncheckpoints: {a: 'fresh'}\ntrain: {method: reinforce}\n")
    assert load_ablation_config(str(path)).train.method == "reinforce"


def test_boundary_study_writes_its_figure(small_config, tmp_path):
    out = tmp_path / "boundary"
    assert main(["ablate", str(small_config), "--study", "boundary", "--out", str(out)]) == 0
    assert (out / "boundary.png").stat().st_size > 0
    table = (out / "boundary.md").read_text()
    assert "| checkpoint | 1 | 2 | 4 | 8 |" in table and "| other |" in table
    rows = json.loads((out / "results.json").read_text())
    assert {r["budget"] for r in rows if r["study"] == "boundary"} == {1, 2, 4, 8}


def test_unknown_config_key_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("game: tictactoe\ncheckpoints: {a: 'fresh'}\nbudget: [4]\n")
    assert main(["ablate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown config key 'budget'" in err and "Traceback" not in err
    bad.write_text("game: tictactoe\ncheckpoints: {a: 'fresh'}\n")
    for item, message in (("opennings=0", "unknown config key 'opennings'"),
                          ("openings", "must look like key=value"),
                          ("evaluation_seed=1", "evaluation_seed must be")):
        assert main(["ablate", str(bad), "--set", item, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, item
        assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("extra, match", [
    ("budget: [4]", "'budget'.*did you mean 'budgets'"),
    ("train: {iteration: 3}", "'train.iteration'"),
    ("train: {method: ppo}", "train.method must be deviation or reinforce"),
    ("arms: [puct, mcts]", "unknown arm 'mcts'"),
    ("match_checkpoints: [b]", "match_checkpoints: 'b'"),
    ("match_arms: [puct_tuned]", "match_arms must be arms"),
    ("openings: -1", "openings must be >= 0"),
    ("evaluation_seed: 1", "evaluation_seed must be >= 0 and not 1 or 2"),
    ("evaluation_seed: 2", "evaluation_seed must be"),
])
def test_bad_config_is_named(tmp_path, extra, match):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"game: tictactoe\ncheckpoints: {{a: 'fresh'}}\n{extra}\n")
    with pytest.raises(ConfigError, match=match):
        load_ablation_config(str(bad))


def test_missing_checkpoint_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "missing.yaml"
    cfg.write_text(f"game: tictactoe\ncheckpoints: {{a: {tmp_path / 'none.pt'}}}\n")
    assert main(["ablate", str(cfg), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "checkpoint not found" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()  # checked before any work


def test_untrained_learned_arms_are_puct(evaluate):
    params = load_config("tictactoe").search
    states = [p.state() for p in labelled_positions(TTT, 40, seed=0)]
    weights = LearnedSearch.fresh(0).weights()  # last layers zero: residuals are 0
    puct = search_positions(TTT, evaluate, arm_setup("puct", params), states, 8, seed=0,
                            batch_size=16)
    runs = {arm: search_positions(TTT, evaluate, arm_setup(arm, params, weights=weights),
                                  states, 8, seed=0, batch_size=16).action
            for arm in ("learned_readout", "learned_selection", "learned")}
    np.testing.assert_array_equal(runs["learned_selection"], puct.action)
    # A zero readout residual keeps PUCT's tree and its most visited move, but breaks ties
    # between equally visited moves by index where PUCT breaks them by prior.
    np.testing.assert_array_equal(runs["learned"], runs["learned_readout"])
    tuned = arm_setup(BASELINE, params, c_init=3.0)
    assert tuned.params.c_init == 3.0 and tuned.params.arm == "puct"
    assert arm_setup("gumbel", params).noise and not arm_setup("puct", params).noise
    greedy = arm_setup("gumbel_greedy", params, gumbel_noise=True)
    assert not greedy.noise and greedy.params.arm == "gumbel"


def test_incremental_puct_equals_fresh_searches(evaluate):
    params = load_config("tictactoe").search
    states = [p.state() for p in labelled_positions(TTT, 12, seed=0)]
    budgets = [1, 2, 4, 8, 16]
    action, value, seconds = incremental_puct(TTT, evaluate, params, states, budgets,
                                              batch_size=5)
    assert np.all(np.diff(seconds) >= 0)
    for j, b in enumerate(budgets):
        run = search_positions(TTT, evaluate, arm_setup("puct", params), states, b, seed=0,
                               batch_size=12)
        np.testing.assert_array_equal(run.action, action[j])
        np.testing.assert_allclose(run.value, value[j], atol=1e-6)


def test_balanced_openings_are_draws_and_distinct():
    openings = balanced_openings(TTT, 10, (1, 3), 0)
    assert len({tuple(m) for m in openings}) == 10
    for moves in openings:
        state = TTT.initial_state()
        for a in moves:
            state = TTT.apply(state, a)
        assert 1 <= len(moves) <= 3 and perfect_values(state) == 0


def test_strata_and_matching_budget():
    masks = strata_of(np.array([2, 4, 5, 6, 9]), [4, 6])
    assert {k: v.tolist() for k, v in masks.items()} == {
        "<4": [True, False, False, False, False], "4-5": [False, True, True, False, False],
        "6+": [False, False, False, True, True]}
    budgets, shares = [4, 8, 16, 32], [0.5, 0.6, 0.7, 0.8]
    assert matching_budget(budgets, shares, 0.65) == pytest.approx(2 ** 3.5)
    assert matching_budget(budgets, shares, 0.4) == 4
    assert matching_budget(budgets, shares, 0.9) is None


def test_package_exports_its_public_names():
    """``alphazero.ablate`` is the package's face: every name of ``__all__`` is there, and is
    the object its defining module holds."""
    import alphazero.ablate as ablate
    import alphazero.ablate.report as report
    import alphazero.ablate.results as results

    assert all(hasattr(ablate, name) for name in ablate.__all__)
    assert ablate.write_reports is report.write_reports and ablate.Results is results.Results

def test_elo_figure_keeps_points_readable_when_intervals_are_huge(small_config):
    """Four games a point give +-800 whiskers: the axis fits the points, whiskers are cut at
    its edge with an arrowhead, and coinciding arms are drawn side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from alphazero.ablate.figures import accuracy_figure, elo_figure, time_figure

    cfg = load_ablation_config(str(small_config))
    rows = []
    for arm in cfg.ordered_arms:
        for ckpt in cfg.checkpoints:
            for budget in (0, *cfg.budgets):
                values = {"elo": 30.0, "elo_low": -800.0, "elo_high": 850.0,
                          "optimal_share": 0.9, "best_share": 0.8, "value_error": 0.1,
                          "seconds_per_move": 0.001 * (budget + 1)}
                rows += [dict(study="arms", arm=arm, checkpoint=ckpt, budget=budget,
                              seed="all", stratum="all", metric=m, value=v)
                         for m, v in values.items()]
    fig = elo_figure(plt, rows, cfg)
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert high < 400 and low > -400  # fitted to the points (+30), not the whiskers
    arrowheads = [line for line in ax.get_lines() if line.get_marker() in ("^", "v")
                  and line.get_linestyle() == "None"]
    assert arrowheads
    xs = {tuple(line.get_xdata()) for line in accuracy_figure(plt, rows, cfg).axes[0].get_lines()
          if line.get_label() != "policy"}
    assert len(xs) == len(cfg.ordered_arms) - 1  # identical results, distinct positions
    assert time_figure(plt, rows, cfg).legends  # the legend sits outside the panels
    plt.close("all")


def test_results_json_keeps_the_sign_of_infinities(tmp_path):
    """An Elo bound of a 100% score is +inf: results.json (strict JSON) writes it as "inf",
    and --report reads it back as +inf (it used to come back as NaN and print as -inf)."""
    import json as json_module

    from alphazero.ablate.results import read_value, write_results

    base = {"study": "arms", "arm": "puct", "checkpoint": "c", "budget": 2, "seed": "all",
            "stratum": "all"}
    rows = [{**base, "metric": m, "value": v} for m, v in
            (("elo_high", float("inf")), ("elo_low", float("-inf")), ("games", float("nan")),
             ("elo", 12.5))]
    write_results(rows, tmp_path)
    data = json_module.loads((tmp_path / "results.json").read_text())
    assert [r["value"] for r in data] == ["inf", "-inf", None, 12.5]
    back = [read_value(r["value"]) for r in data]
    assert back[:2] == [float("inf"), float("-inf")] and np.isnan(back[2]) and back[3] == 12.5
    with pytest.raises(TypeError):
        read_value("lots")
