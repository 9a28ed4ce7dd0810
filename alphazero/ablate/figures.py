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
    "learned_readout": dict(marker="v", ls="--", color="tab:red"),
    "learned_selection": dict(marker="D", ls="-.", color="tab:purple"),
    "learned": dict(marker="o", lw=1.8, color="tab:brown")}


def accuracy_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    idx, ckpts = index_rows(rows), labels_of(rows, "checkpoint", "arms")
    fig, axes = plt.subplots(len(METRICS), len(ckpts), figsize=(4.2 * len(ckpts), 9),
                             squeeze=False)
    for col, ckpt in enumerate(ckpts):
        for row, metric in enumerate(METRICS):
            ax = axes[row, col]
            for arm in cfg.ordered_arms:
                if arm == "policy":
                    ax.axhline(lookup(idx, arm, ckpt, 0, metric), color="grey", ls="--",
                               label="policy")
                    continue
                ax.plot(cfg.budgets, [lookup(idx, arm, ckpt, b, metric) for b in cfg.budgets],
                        label=arm, **_STYLE.get(arm, {}))
            ax.set_xscale("log", base=2)
            ax.set(ylabel=metric.replace("_", " "))
            ax.grid(alpha=0.3)
        axes[0, col].set_title(ckpt)
        axes[-1, col].set_xlabel("simulations")
    axes[0, -1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def elo_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    idx, ckpts = index_rows(rows), labels_of(rows, "checkpoint", "arms")
    fig, axes = plt.subplots(1, len(ckpts), figsize=(4.5 * len(ckpts), 3.8), squeeze=False)
    for col, ckpt in enumerate(ckpts):
        ax = axes[0, col]
        ax.axhline(0.0, color="black", lw=1, label=f"{BASELINE} (reference)")
        for k, arm in enumerate(cfg.ordered_arms[1:]):
            elo = np.array([lookup(idx, arm, ckpt, b, "elo") for b in cfg.budgets])
            low = np.array([lookup(idx, arm, ckpt, b, "elo_low") for b in cfg.budgets])
            high = np.array([lookup(idx, arm, ckpt, b, "elo_high") for b in cfg.budgets])
            low, high = np.where(np.isfinite(low), low, elo), np.where(np.isfinite(high), high, elo)
            x = np.array(cfg.budgets, dtype=float) * 2 ** (0.04 * (k - 3))  # spread the bars
            style = {k: v for k, v in _STYLE.get(arm, {}).items() if k != "lw"}
            ax.errorbar(x, elo, yerr=[elo - low, high - elo], capsize=2, label=arm, **style)
        ax.set_xscale("log", base=2)
        ax.set(xlabel="simulations", ylabel=f"Elo vs {BASELINE}", title=ckpt)
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def time_figure(plt: Any, rows: list[dict[str, Any]], cfg: AblationConfig) -> Any:
    idx, ckpt = index_rows(rows), cfg.learned_label
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for arm in cfg.ordered_arms:
        budgets = [0] if arm == "policy" else list(cfg.budgets)
        ms = [1000 * lookup(idx, arm, ckpt, b, "seconds_per_move") for b in budgets]
        share = [lookup(idx, arm, ckpt, b, "optimal_share") for b in budgets]
        style = _STYLE.get(arm, {})
        if arm != "policy":
            left.plot(budgets, ms, label=arm, **style)
        right.plot(ms, share, label=arm, **style)
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set(xlabel="simulations", ylabel="ms per move", title=f"time per move ({ckpt})")
    right.set_xscale("log")
    right.set(xlabel="ms per move", ylabel="optimal share", title="equal wall time")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    right.legend(fontsize=7)
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
