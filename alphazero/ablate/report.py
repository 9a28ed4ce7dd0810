"""The ablation's reports: the Markdown summaries (arms and boundary studies, the
pre-registered target check) and ``write_reports``, which also draws the figures
(``alphazero.ablate.figures``). The rows they read are ``alphazero.ablate.results``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alphazero.ablate.config import BASELINE, AblationConfig
from alphazero.ablate.figures import accuracy_figure, boundary_figure, elo_figure, time_figure
from alphazero.ablate.results import Index, index_rows, labels_of, lookup


def matching_budget(budgets: Sequence[int], shares: Sequence[float], target: float
                    ) -> float | None:
    """Budget (interpolated in log2) at which ``shares`` first reach ``target``; None if
    never; the smallest budget if already there."""
    if target <= shares[0]:
        return float(budgets[0])
    for (b0, s0), (b1, s1) in zip(zip(budgets, shares), zip(budgets[1:], shares[1:])):
        if s0 < target <= s1:
            t = (target - s0) / (s1 - s0)
            return float(2 ** (np.log2(b0) + t * (np.log2(b1) - np.log2(b0))))
    return None


def _share_cell(idx: Index, arm: str, ckpt: str, budget: int, metric: str, stratum: str,
                scale: float = 100.0) -> str:
    value = lookup(idx, arm, ckpt, 0 if arm == "policy" else budget, metric, stratum=stratum)
    text = f"{scale * value:.1f}" if scale != 1.0 else f"{value:.3f}"
    if arm == BASELINE:
        return f"{text} (c={lookup(idx, arm, ckpt, budget, 'c_init'):g})" if metric == \
            "optimal_share" and stratum == "all" else text
    d, lo, hi = (lookup(idx, arm, ckpt, budget, f"{metric}_diff{s}", stratum=stratum)
                 for s in ("", "_low", "_high"))
    digits = 1 if scale != 1.0 else 3
    star = "*" if lo > 0 or hi < 0 else ""
    return (f"{text} ({scale * d:+.{digits}f} [{scale * lo:+.{digits}f}, "
            f"{scale * hi:+.{digits}f}]{star})")


def _elo_text(value: float) -> str:
    return f"{value:+.0f}" if np.isfinite(value) else ("+inf" if value > 0 else "-inf")


def _elo_cell(idx: Index, arm: str, ckpt: str, budget: int) -> str:
    if not np.isfinite(lookup(idx, arm, ckpt, budget, "games")):
        return "—"
    elo, lo, hi = (lookup(idx, arm, ckpt, budget, m) for m in ("elo", "elo_low", "elo_high"))
    wdl = "/".join(f"{lookup(idx, arm, ckpt, budget, m):.0f}" for m in ("wins", "draws", "losses"))
    return f"{_elo_text(elo)} [{_elo_text(lo)}, {_elo_text(hi)}] ({wdl})"


def _table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(line) + " |" for line in lines), ""]


def arms_summary(rows: list[dict[str, Any]], cfg: AblationConfig) -> str:
    """The Markdown summary of an arms study."""
    idx = index_rows(rows)
    arms = [a for a in cfg.ordered_arms if a in labels_of(rows, "arm", "arms")]
    ckpts = [c for c in labels_of(rows, "checkpoint", "arms")]
    budgets = list(cfg.budgets)
    data = {m: lookup(idx, "-", "-", 0, m, study="data") for m in (
        "evaluation_positions", "evaluation_dropped", "tuning_positions", "training_positions",
        "openings")}
    pct = f"{100 * cfg.confidence:g}%"
    out = [f"# Ablation of the search arms: {cfg.game}", "",
           f"{data['evaluation_positions']:.0f} evaluation positions (labelled seed "
           f"{cfg.evaluation_seed}; "
           f"{data['evaluation_dropped']:.0f} dropped as they also occur in the training or "
           f"tuning split), c_init tuned per budget on {data['tuning_positions']:.0f} positions "
           f"(seed 2) over {list(cfg.c_grid)}; learned search "
           f"{'from ' + cfg.learned_weights if cfg.learned_weights else 'trained here'} on "
           f"checkpoint `{cfg.learned_label}` ({data['training_positions']:.0f} positions, "
           f"seed 1). Seeds {list(cfg.seeds)} (deterministic arms run once); "
           + (f"matches from {data['openings']:.0f} balanced openings, each played with both "
              f"colours. " if cfg.openings else "no matches (openings: 0). ")
           + "Cells: value"
           f" (difference from tuned PUCT, paired bootstrap {pct} interval, "
           f"{cfg.resamples} resamples; * = excludes 0). Policy: 0 simulations.", ""]
    for ckpt in ckpts:
        tag = " (learned search trained on it)" if ckpt == cfg.learned_label else ""
        out += [f"## Checkpoint `{ckpt}`{tag}", ""]
        for metric, title, scale in (("optimal_share", "Optimal moves, %", 100.0),
                                     ("best_share", "Best-score moves, %", 100.0),
                                     ("value_error", "Value error |v - sign(score)|", 1.0)):
            out += [f"{title}:", ""] + _table(["arm", *map(str, budgets)], [
                [a, *(_share_cell(idx, a, ckpt, b, metric, "all", scale) for b in budgets)]
                for a in arms])
        played = [a for a in arms if a != BASELINE and any(
            np.isfinite(lookup(idx, a, ckpt, b, "games")) for b in budgets)]
        if played:
            out += [f"Elo against tuned PUCT at the same budget ({pct} interval; W/D/L):", ""]
            out += _table(["arm", *map(str, budgets)], [
                [a, *(_elo_cell(idx, a, ckpt, b) for b in budgets)] for a in played])
        else:
            why = "`match_checkpoints`" if cfg.openings else "openings: 0"
            out += [f"No head-to-head matches on this checkpoint ({why}).", ""]
        ms = {(a, b): 1000 * lookup(idx, a, ckpt, 0 if a == "policy" else b, "seconds_per_move")
              for a in arms for b in budgets}
        out += ["Time per move, ms (batched search):", ""] + _table(["arm", *map(str, budgets)], [
            [a, *(f"{ms[a, b]:.2f}" for b in budgets)] for a in arms])
        strata = [s for s in labels_of(rows, "stratum", "arms") if s != "all"]
        if strata:
            out += ["Optimal moves by stones on the board, %:", ""] + _table(
                ["arm", "stones", *map(str, budgets)],
                [[a, s, *(_share_cell(idx, a, ckpt, b, "optimal_share", s) for b in budgets)]
                 for a in arms for s in strata])
    out += equal_time_section(idx, cfg, arms) + target_section(idx, cfg)
    return "\n".join(out)


def equal_time_section(idx: Index, cfg: AblationConfig, arms: Sequence[str]) -> list[str]:
    """Each arm's optimal share against tuned PUCT's at the same time per move (log-time
    interpolation between tuned PUCT's budgets; blank outside its measured times)."""
    ckpt, budgets = cfg.learned_label, list(cfg.budgets)
    times = np.array([lookup(idx, BASELINE, ckpt, b, "seconds_per_move") for b in budgets])
    shares = np.array([lookup(idx, BASELINE, ckpt, b, "optimal_share") for b in budgets])
    order = np.argsort(times)
    lines = []
    for arm in arms:
        if arm == BASELINE:
            continue
        for b in ([0] if arm == "policy" else budgets):
            t = lookup(idx, arm, ckpt, b, "seconds_per_move")
            mine = lookup(idx, arm, ckpt, b, "optimal_share")
            inside = times.min() <= t <= times.max()
            base = np.interp(np.log(t), np.log(times[order]), shares[order]) if inside else np.nan
            lines.append([arm, str(b), f"{1000 * t:.2f}", f"{100 * mine:.1f}",
                          f"{100 * base:.1f}" if inside else "", f"{100 * (mine - base):+.1f}"
                          if inside else ""])
    return [f"## Equal wall time (checkpoint `{ckpt}`)", "",
            "Tuned PUCT's optimal share interpolated (in log time) at each arm's time per move; "
            "blank when outside the times tuned PUCT was measured at. Times on a shared, "
            "loaded machine are noisy.", ""] + _table(
        ["arm", "budget", "ms/move", "optimal %", "tuned PUCT % at that time", "difference"],
        lines)


def target_section(idx: Index, cfg: AblationConfig) -> list[str]:
    """The pre-registered targets (docs/learned_search.md), checked on ``learned_on``."""
    ckpt, arm = cfg.learned_label, "learned"
    out = [f"## Pre-registered targets (docs/learned_search.md; arm `{arm}`, checkpoint "
           f"`{ckpt}`)", "", "Defined for Connect Four; on other games a reference only.", ""]
    if arm not in cfg.arms:
        return out + ["Not checked: the learned arm was not run.", ""]

    def diff(b: int) -> tuple[float, float, float]:
        return tuple(lookup(idx, arm, ckpt, b, f"optimal_share_diff{s}")  # type: ignore
                     for s in ("", "_low", "_high"))

    for b in (16, 32):
        if b not in cfg.budgets:
            out.append(f"- {b} simulations: not measured.")
            continue
        d, lo, hi = diff(b)
        elo = lookup(idx, arm, ckpt, b, "elo")
        met = d >= 0.02 and lo > 0 and elo >= 30
        out.append(f"- {b} simulations: optimal moves {100 * d:+.1f} points [{100 * lo:+.1f}, "
                   f"{100 * hi:+.1f}] (target >= +2 with the interval above 0), Elo "
                   f"{_elo_text(elo)} (target >= +30): {'MET' if met else 'NOT MET'}.")
    for b in (64, 128):
        if b not in cfg.budgets:
            out.append(f"- {b} simulations: not measured.")
            continue
        d, lo, hi = diff(b)
        elo_high = lookup(idx, arm, ckpt, b, "elo_high")
        met = hi >= 0 and elo_high >= 0
        out.append(f"- {b} simulations: optimal moves {100 * d:+.1f} [{100 * lo:+.1f}, "
                   f"{100 * hi:+.1f}], Elo {_elo_text(lookup(idx, arm, ckpt, b, 'elo'))} "
                   f"(upper {_elo_text(elo_high)}); no significant loss: "
                   f"{'MET' if met else 'NOT MET'}.")
    if 16 in cfg.budgets:
        budgets = sorted(cfg.budgets)
        shares = [lookup(idx, BASELINE, ckpt, b, "optimal_share") for b in budgets]
        target = lookup(idx, arm, ckpt, 16, "optimal_share")
        match = matching_budget(budgets, shares, target)
        text = (f"about {match:.0f} simulations ({match / 16:.2f}x; >= 1.5x is meaningful)"
                if match is not None else f"more than {budgets[-1]} (not reached)")
        out.append(f"- Tuned PUCT budget matching `{arm}` at 16 simulations "
                   f"({100 * target:.1f}% optimal): {text}.")
    return out + [""]


def boundary_summary(rows: list[dict[str, Any]], cfg: AblationConfig) -> str:
    """The boundary study's table and the facts a paragraph needs."""
    idx = index_rows(rows)
    ckpts = labels_of(rows, "checkpoint", "boundary")
    budgets = sorted({r["budget"] for r in rows if r["study"] == "boundary"})
    top = budgets[-1]

    def get(c: str, b: int, m: str) -> float:
        return lookup(idx, "puct", c, b, m, study="boundary", seed=0)

    first = ckpts[0]
    lines = []
    for c in ckpts:
        match = get(c, top, "budget_to_match_first")
        lines.append([c, *(f"{100 * get(c, b, 'optimal_share'):.1f}" for b in budgets),
                      f"{100 * get(c, top, 'ever_optimal'):.1f}",
                      f"{100 * get(c, top, 'new_vs_first'):.1f}",
                      f"{match:.0f}" if np.isfinite(match) else f"> {top}"])
    n = lookup(idx, "-", "-", 0, "evaluation_positions", study="data")
    out = [f"# Boundary study: PUCT accuracy against the budget ({cfg.game})", "",
           f"Share of optimal moves (%) on {n:.0f} solver-labelled positions (labelled seed "
           f"{cfg.evaluation_seed}) "
           f"by PUCT at each budget, per training checkpoint. *Any budget*: optimal at some "
           f"budget of the series. *New vs `{first}`*: optimal at {top} simulations where "
           f"`{first}` found no optimal move at any budget. *Sims to match*: fewest simulations "
           f"reaching `{first}`'s share at {top}.", ""]
    out += _table(["checkpoint", *map(str, budgets), "any budget", f"new vs {first}",
                   "sims to match"], lines)
    for c in ckpts[1:]:
        out.append(f"- `{c}`: {100 * get(c, top, 'optimal_share'):.1f}% at {top} simulations "
                   f"against {100 * get(first, top, 'optimal_share'):.1f}% for `{first}`; "
                   f"{100 * get(c, top, 'new_vs_first'):.1f}% of positions are answers `{first}` "
                   f"never found at any budget, {100 * get(c, top, 'lost_vs_first'):.1f}% the "
                   f"reverse.")
    return "\n".join(out + [""])


def write_reports(rows: list[dict[str, Any]], cfg: AblationConfig, out_dir: Path,
                  study: str) -> list[Path]:
    """summary.md and the figures; returns their paths."""
    # matplotlib is imported only to draw (~0.5 s): summaries and results need none of it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    if study == "arms" and cfg.oracle:
        from alphazero.ablate.oracle import oracle_figure, oracle_summary

        text = oracle_summary(rows, cfg)
        figures = {"accuracy_vs_budget.png": oracle_figure}
    elif study == "arms":
        text = arms_summary(rows, cfg)
        figures = {"accuracy_vs_budget.png": accuracy_figure, "elo_vs_budget.png": elo_figure,
                   "time_per_move.png": time_figure}
        if not any(r["metric"] == "games" for r in rows):  # no matches: no Elo to draw
            del figures["elo_vs_budget.png"]
    else:
        text = boundary_summary(rows, cfg)
        (out_dir / "boundary.md").write_text(text)
        paths.append(out_dir / "boundary.md")
        figures = {"boundary.png": boundary_figure}
    (out_dir / "summary.md").write_text(text)
    paths.append(out_dir / "summary.md")
    for name, draw in figures.items():
        fig = draw(plt, rows, cfg)
        fig.savefig(out_dir / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths.append(out_dir / name)
    return paths
