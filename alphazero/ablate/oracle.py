"""The arms study on a game without a solver (chess): each arm scored by a stored best-move
oracle (``alphazero.eval.chess_oracle``) instead of solver-labelled splits.

For every checkpoint, oracle set (``heldout``: held-out Stockfish positions whose best move
beats the second by ``min_gap`` centipawns or more; ``wac``: Win At Chess), arm, budget and
seed, the share of positions where the arm plays a best move, its time per move, and paired
bootstrap intervals of its difference from the baseline (PUCT with the game config's
constants) at the same budget and, with ``double_budget``, at twice the budget. There is no
tuning split (so no tuned PUCT), no stone strata and no head-to-head matches: chess has no
solver to balance openings with, and a chess match costs hours where a labelled position costs
a fraction of a second. The learned search is loaded (``learned_weights``), never trained here.

Rows use ``alphazero.ablate.results``' schema with the oracle set as the stratum:
``best_share``, ``seconds_per_move``, ``best_share_diff[_low|_high]`` (against the baseline at
N) and ``best_share_diff2n[_low|_high]`` (against it at 2N).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from alphazero.ablate.arms import arm_setup, search_positions
from alphazero.ablate.config import AblationConfig, Log
from alphazero.ablate.report import _table
from alphazero.ablate.results import Results, index_rows, labels_of, lookup, write_results
from alphazero.eval.stats import paired_bootstrap

METRIC = "best_share"


def baseline_budgets(cfg: AblationConfig) -> list[int]:
    """The budgets the baseline is searched at: the study's, and twice each with
    ``double_budget``."""
    budgets = set(cfg.budgets)
    if cfg.double_budget:
        budgets |= {2 * b for b in cfg.budgets}
    return sorted(budgets)


def run_oracle_study(cfg: AblationConfig, out_dir: Path, study: Any, evaluates: dict[str, Any],
                     *, log: Log = print) -> Results:
    """Every arm x checkpoint x oracle set x budget (x seed), and the paired differences.

    ``study`` and ``evaluates`` are ``alphazero.ablate.study._setup``'s."""
    from alphazero.eval.chess_oracle import oracle_sets
    from nets.search_weights import LearnedSearch

    results = study.results
    weights = None
    if cfg.wants_learned:
        weights = LearnedSearch.load(cfg.learned_weights, expected_game=cfg.game).weights()
        log(f"learned search: {cfg.learned_weights}")
    sets = oracle_sets(min_gap=cfg.min_gap, limit=cfg.positions)
    sets = {name: sets[name] for name in cfg.oracle_sets}
    for name, oracle in sets.items():
        results.add("data", "-", "-", 0, "all", "evaluation_positions", len(oracle.positions),
                    name)
    log(", ".join(f"{name}: {len(o.positions)} positions" for name, o in sets.items())
        + f" (heldout: best move >= {cfg.min_gap:g} cp ahead)")
    for label, evaluate in evaluates.items():
        _warm_up(cfg, study, evaluate, next(iter(sets.values())), weights)
        for name, oracle in sets.items():
            solved = _score(cfg, study, label, evaluate, name, oracle, weights)
            _oracle_differences(cfg, results, label, name, solved)
            write_results(results.rows, out_dir)  # a stopped run keeps every finished part
    results.writer.close()
    return results


def _warm_up(cfg: AblationConfig, study: Any, evaluate: Any, oracle: Any, weights: Any) -> None:
    """One tiny search per arm before any is timed: the first search of a kind compiles its
    kernels, which would otherwise count in the first arm's time per move."""
    for arm in cfg.ordered_arms:
        setup = arm_setup(arm, study.search, weights=weights, gumbel_noise=cfg.gumbel_noise)
        search_positions(study.game, evaluate, setup, oracle.states[:1], 2, seed=0,
                         batch_size=1)


def _score(cfg: AblationConfig, study: Any, label: str, evaluate: Any, name: str, oracle: Any,
           weights: Any) -> dict[tuple[str, int], np.ndarray]:
    """(arm, budget) -> float[P] solved, pooled over the seeds of noisy arms."""
    solved = {}
    for arm in cfg.ordered_arms:
        if arm == "policy":
            budgets = [0]
        elif arm == cfg.baseline:
            budgets = baseline_budgets(cfg)
        else:
            budgets = list(cfg.budgets)
        for budget in budgets:
            setup = arm_setup(arm, study.search, weights=weights, gumbel_noise=cfg.gumbel_noise)
            per_seed, seconds = [], []
            for seed in (cfg.seeds if setup.noise else cfg.seeds[:1]):
                run = search_positions(study.game, evaluate, setup, oracle.states, budget,
                                       seed=seed, batch_size=cfg.batch_size)
                per_seed.append(oracle.solved(run.action))
                seconds.append(run.seconds_per_move)
                study.results.add("arms", arm, label, budget, seed, METRIC, per_seed[-1].mean(),
                                  name)
            pooled = np.mean(per_seed, axis=0)
            solved[(arm, budget)] = pooled
            for metric, value in ((METRIC, pooled.mean()),
                                  ("seconds_per_move", float(np.mean(seconds)))):
                study.results.add("arms", arm, label, budget, "all", metric, value, name,
                                  tensorboard=False)
            study.log(f"[{label}] {name} {arm} {budget} sims: best move {pooled.mean():.3f}, "
                      f"{1000 * np.mean(seconds):.1f} ms/move")
    return solved


def _oracle_differences(cfg: AblationConfig, results: Results, label: str, name: str,
                        solved: dict[tuple[str, int], np.ndarray]) -> None:
    """Every other arm minus the baseline at N and (``double_budget``) at 2N, paired."""
    for arm in cfg.ordered_arms[1:]:
        for budget in cfg.budgets:
            mine = solved[(arm, 0 if arm == "policy" else budget)]
            pairs = [("", budget)] + ([("2n", 2 * budget)] if cfg.double_budget else [])
            for tag, base_budget in pairs:
                iv = paired_bootstrap(mine, solved[(cfg.baseline, base_budget)],
                                      resamples=cfg.resamples, confidence=cfg.confidence)
                for suffix, value in (("", iv.estimate), ("_low", iv.low), ("_high", iv.high)):
                    results.add("arms", arm, label, budget, "all",
                                f"{METRIC}_diff{tag}{suffix}", value, name)


# ------------------------------------------------------------------------------ report
def _cell(idx: Any, arm: str, ckpt: str, budget: int, name: str, tag: str) -> str:
    share = lookup(idx, arm, ckpt, 0 if arm == "policy" else budget, METRIC, stratum=name)
    if not np.isfinite(share):
        return "—"
    d, lo, hi = (lookup(idx, arm, ckpt, budget, f"{METRIC}_diff{tag}{s}", stratum=name)
                 for s in ("", "_low", "_high"))
    if not np.isfinite(d):
        return f"{100 * share:.1f}"
    star = "*" if lo > 0 or hi < 0 else ""
    return f"{100 * share:.1f} ({100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]{star})"


def oracle_summary(rows: list[dict[str, Any]], cfg: AblationConfig) -> str:
    """The Markdown summary of an oracle arms study."""
    idx = index_rows(rows)
    arms = [a for a in cfg.ordered_arms if a in labels_of(rows, "arm", "arms")]
    ckpts = labels_of(rows, "checkpoint", "arms")
    names = [n for n in cfg.oracle_sets if np.isfinite(
        lookup(idx, "-", "-", 0, "evaluation_positions", study="data", stratum=n))]
    base, pct = cfg.baseline, f"{100 * cfg.confidence:g}%"
    counts = {n: lookup(idx, "-", "-", 0, "evaluation_positions", study="data", stratum=n)
              for n in names}
    sizes = ", ".join(f"{n} {c:.0f}" for n, c in counts.items())
    out = [f"# Ablation of the search arms: {cfg.game} (best-move oracle)", "",
           f"Share of positions where the arm plays a best move, % (positions: {sizes}; "
           f"heldout: held-out Stockfish positions whose best move is >= {cfg.min_gap:g} cp "
           f"ahead of the second; wac: Win At Chess's bm moves). Baseline `{base}` (the game "
           f"config's constants: no tuning split here). Cells: share (difference from the "
           f"baseline, paired bootstrap {pct} interval, {cfg.resamples} resamples; * = excludes "
           f"0). Seeds {list(cfg.seeds)} (deterministic arms run once). Learned search: "
           f"{cfg.learned_weights or 'not run'}. No head-to-head matches on this game.", ""]
    budgets = list(cfg.budgets)
    doubled = baseline_budgets(cfg)
    for ckpt in ckpts:
        out += [f"## Checkpoint `{ckpt}`", ""]
        for name in names:
            out += [f"`{name}`, against `{base}` at the same budget:", ""]
            out += _table(["arm", *map(str, budgets)],
                          [[a, *(_cell(idx, a, ckpt, b, name, "") for b in budgets)]
                           for a in arms])
            if cfg.double_budget:
                out += [f"`{name}`, against `{base}` at twice the budget "
                        f"(`{base}` at {', '.join(map(str, doubled))}: "
                        + ", ".join(f"{100 * lookup(idx, base, ckpt, b, METRIC, stratum=name):.1f}"
                                    for b in doubled) + "):", ""]
                out += _table(["arm at N", *map(str, budgets)],
                              [[a, *(_cell(idx, a, ckpt, b, name, "2n") for b in budgets)]
                               for a in arms[1:]])
        ms = [[a, *(f"{1000 * _seconds(idx, a, ckpt, b, names[0]):.1f}" for b in budgets)]
              for a in arms]
        out += [f"Time per move, ms (batched search, `{names[0]}`):", ""]
        out += _table(["arm", *map(str, budgets)], ms)
    return "\n".join(out)


def _seconds(idx: Any, arm: str, ckpt: str, budget: int, name: str) -> float:
    return lookup(idx, arm, ckpt, 0 if arm == "policy" else budget, "seconds_per_move",
                  stratum=name)


def oracle_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    """Best-move share against the budget, one panel per checkpoint and oracle set."""
    from alphazero.ablate.figures import _STYLE, _budget_axis, _legend, _spread

    idx, ckpts = index_rows(rows), labels_of(rows, "checkpoint", "arms")
    names = list(cfg.oracle_sets)
    budgets = baseline_budgets(cfg)
    fig, axes = plt.subplots(len(names), len(ckpts), figsize=(4.4 * len(ckpts),
                                                              3.6 * len(names)), squeeze=False)
    arms = cfg.ordered_arms
    for col, ckpt in enumerate(ckpts):
        for row, name in enumerate(names):
            ax = axes[row, col]
            for k, arm in enumerate(arms):
                if arm == "policy":
                    ax.axhline(100 * lookup(idx, arm, ckpt, 0, METRIC, stratum=name),
                               color="grey", ls="--", label="policy")
                    continue
                mine = budgets if arm == cfg.baseline else list(cfg.budgets)
                ax.plot(_spread(mine, k, len(arms)),
                        [100 * lookup(idx, arm, ckpt, b, METRIC, stratum=name) for b in mine],
                        label=arm, **_STYLE.get(arm, {}))
            _budget_axis(ax, budgets)
            ax.set(ylabel=f"best move, % ({name})", title=f"{ckpt}: {name}")
            ax.grid(alpha=0.3)
        axes[-1, col].set_xlabel("simulations")
    _legend(fig, axes[0, -1])
    fig.tight_layout()
    return fig
