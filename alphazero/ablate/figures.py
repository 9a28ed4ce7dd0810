"""The ablation's matplotlib figures, drawn from result rows (``write_reports`` calls them
with the Agg backend)."""

from __future__ import annotations

from typing import Any

import numpy as np

from alphazero.ablate.config import BASELINE, METRICS, AblationConfig
from alphazero.ablate.results import index_rows, labels_of, lookup

_STYLE = {  # one colour per arm in every figure; markers and dashes keep overlaps visible
    "policy": dict(marker="o", color="grey"),
    "puct": dict(marker="s", ls=":", color="tab:orange"),
    "puct_tuned": dict(marker="o", lw=2.4, color="black"),
    "gumbel": dict(marker="^", color="tab:green"),
    "gumbel_greedy": dict(marker="<", ls="--", color="tab:olive"),
    "learned_readout": dict(marker="v", ls="--", color="tab:red"),
    "learned_selection": dict(marker="D", ls="-.", color="tab:purple"),
    "learned_backup": dict(marker="P", ls=":", color="tab:cyan"),
    "learned": dict(marker="o", lw=1.8, color="tab:brown")}


def _spread(budgets: list[int], k: int, arms: int) -> np.ndarray:
    """The budgets, each arm's nudged sideways a little on the log axis: arms whose results
    coincide (PUCT, tuned PUCT and the learned rules at zero often do) stay visible."""
    return np.array(budgets, dtype=float) * 2 ** (0.05 * (k - (arms - 1) / 2))


def _legend(fig: Any, ax: Any) -> None:
    """One legend for the figure, right of the panels, where it covers no data."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))


def _budget_axis(ax: Any, budgets: list[int]) -> None:
    """A log-2 x axis ticked at the budgets (set even for a panel with no data)."""
    ax.set_xscale("log", base=2)
    ax.set_xlim(min(budgets) / 1.3, max(budgets) * 1.3)
    ax.set_xticks(budgets, [str(b) for b in budgets])


def _log_ticks(ax: Any, axis: str) -> None:
    """Ticks at 1, 2 and 5 of every decade, written as plain numbers: a log axis spanning a
    decade or less otherwise shows one or two."""
    import matplotlib.ticker as ticker

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(ticker.NullFormatter())


def accuracy_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    idx, ckpts = index_rows(rows), labels_of(rows, "checkpoint", "arms")
    fig, axes = plt.subplots(len(METRICS), len(ckpts), figsize=(4.2 * len(ckpts), 9),
                             squeeze=False)
    for col, ckpt in enumerate(ckpts):
        for row, metric in enumerate(METRICS):
            ax = axes[row, col]
            arms = cfg.ordered_arms
            for k, arm in enumerate(arms):
                if arm == "policy":
                    ax.axhline(lookup(idx, arm, ckpt, 0, metric), color="grey", ls="--",
                               label="policy")
                    continue
                ax.plot(_spread(cfg.budgets, k, len(arms)),
                        [lookup(idx, arm, ckpt, b, metric) for b in cfg.budgets],
                        label=arm, **_STYLE.get(arm, {}))
            _budget_axis(ax, cfg.budgets)
            ax.set(ylabel=metric.replace("_", " "))
            ax.grid(alpha=0.3)
        axes[0, col].set_title(ckpt)
        axes[-1, col].set_xlabel("simulations")
    _legend(fig, axes[0, -1])
    fig.tight_layout()
    return fig


ELO_AXIS_MIN = 200.0
"""Half-height of the Elo axis at least; it grows to fit the point estimates, not the
whiskers: with a few games a point, intervals of +-800 would flatten every other point."""


def elo_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    """Elo of each arm against the baseline, per budget, with its interval. Whiskers that
    leave the axis are cut at its edge and end in an arrowhead."""
    idx, ckpts = index_rows(rows), labels_of(rows, "checkpoint", "arms")
    fig, axes = plt.subplots(1, len(ckpts), figsize=(4.5 * len(ckpts), 3.8), squeeze=False)
    arms = cfg.ordered_arms[1:]
    for col, ckpt in enumerate(ckpts):
        ax = axes[0, col]
        ax.axhline(0.0, color="black", lw=1, label=f"{BASELINE} (reference)")
        series = {arm: [np.array([lookup(idx, arm, ckpt, b, m) for b in cfg.budgets])
                        for m in ("elo", "elo_low", "elo_high")] for arm in arms}
        points = np.concatenate([elo[np.isfinite(elo)] for elo, _, _ in series.values()]
                                or [np.zeros(1)])
        limit = max(ELO_AXIS_MIN, 1.25 * float(np.abs(points).max(initial=0.0)))
        for k, arm in enumerate(arms):
            elo, low, high = series[arm]
            low = np.clip(np.where(np.isfinite(low), low, elo), -limit, limit)
            high = np.clip(np.where(np.isfinite(high), high, elo), -limit, limit)
            x = _spread(cfg.budgets, k, len(arms))
            style = {k: v for k, v in _STYLE.get(arm, {}).items() if k != "lw"}
            ax.errorbar(x, elo, yerr=[np.maximum(elo - low, 0), np.maximum(high - elo, 0)],
                        capsize=2, label=arm, **style)
            for edge, marker in ((limit, "^"), (-limit, "v")):
                cut = np.isclose(low if edge < 0 else high, edge)
                if cut.any():
                    ax.plot(x[cut], np.full(cut.sum(), edge), ls="none", marker=marker,
                            ms=5, color=style.get("color"))
        ax.set_ylim(-limit * 1.04, limit * 1.04)
        _budget_axis(ax, cfg.budgets)
        ax.set(xlabel="simulations", ylabel=f"Elo vs {BASELINE}", title=ckpt)
        ax.grid(alpha=0.3)
    _legend(fig, axes[0, -1])
    fig.tight_layout()
    return fig


def time_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    idx, ckpt = index_rows(rows), cfg.learned_label
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for k, arm in enumerate(cfg.ordered_arms):
        budgets = [0] if arm == "policy" else list(cfg.budgets)
        ms = [1000 * lookup(idx, arm, ckpt, b, "seconds_per_move") for b in budgets]
        share = [lookup(idx, arm, ckpt, b, "optimal_share") for b in budgets]
        style = _STYLE.get(arm, {})
        if arm != "policy":
            left.plot(_spread(budgets, k, len(cfg.ordered_arms)), ms, label=arm, **style)
        right.plot(ms, share, label=arm, **style)
    _budget_axis(left, cfg.budgets)
    left.set_yscale("log")
    _log_ticks(left, "y")
    left.set(xlabel="simulations", ylabel="ms per move", title=f"time per move ({ckpt})")
    right.set_xscale("log")
    _log_ticks(right, "x")
    right.set(xlabel="ms per move", ylabel="optimal share", title="equal wall time")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    _legend(fig, right)
    fig.tight_layout()
    return fig


def boundary_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    idx = index_rows(rows)
    budgets = sorted({r["budget"] for r in rows if r["study"] == "boundary"})
    fig, ax = plt.subplots(figsize=(6, 4))
    for ckpt in labels_of(rows, "checkpoint", "boundary"):
        ax.plot(budgets, [lookup(idx, "puct", ckpt, b, "optimal_share", study="boundary", seed=0)
                          for b in budgets], marker="o", label=ckpt)
    ax.set_xscale("log", base=2)
    ax.set(xlabel="simulations (PUCT)", ylabel="optimal share",
           title=f"{cfg.game}: accuracy against the budget")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
