"""The tandem study (issue 16, docs/learned_search.md "Pre-registered: the tandem study").

From scratch on Connect Four, the shipped recipe (alphazero/configs/connect4.yaml) with three
self-play searches: PUCT, Gumbel (the recipe's own) and the learned search trained in tandem
(search_training), each for the same budget on this machine, several seeds, one run after
another. Each run is bound by CPU time (train.cpu_minutes: the workers' and the learner's,
summed), so a busy machine stretches a run's wall time but gives every arm the same compute;
on a quiet machine 80 CPU minutes take about 45 wall minutes. The evaluation ladder
measures every run as it goes: the share of optimal moves on the ladder's 300 held-out
solver-labelled positions (never trained on: self-play has no solver), by the arm's own
search at 64 simulations (Gumbel without noise), with the run's wall and CPU clocks in each
row of evaluation.csv.

    python benchmarks/tandem_study.py run [--arms puct,gumbel,tandem] [--seeds 0,1,2] [--keep DIR]
    python benchmarks/tandem_study.py keep runs/tandem-study/puct-seed1 [--into DIR]
    python benchmarks/tandem_study.py report [--root runs/tandem-study] [--figure curves.png]
    python benchmarks/tandem_study.py boundary [--root runs/tandem-study]
    python benchmarks/tandem_study.py search docs/results/tandem-study/tandem-seed0

``run`` starts each missing run, resumes one that was interrupted (a checkpoint and no
summary.json) and skips finished ones, so it can be stopped and started again across
sessions. ``report`` prints each run's time to 90% and 93% optimal moves (CPU seconds of
workers and learner, interpolated between ladder rows; a run that never gets there is
censored at its budget, ">"), the arms' means over seeds with bootstrap intervals, and the
ratio of the tandem arm's time to the better baseline's; ``--figure`` draws the learning
curves (mean over seeds against CPU time, with the seeds' bootstrap band).

``boundary`` is the study's second part: each finished run's final network searched on 1,000
held-out positions at 2-128 simulations by its arm's own search (PUCT; Gumbel without noise;
the tandem run's learned search) and by PUCT. Per arm it reports the share at each budget, the
share of positions answered at *some* budget (reach), the positions only that arm ever answers
and the fewest simulations at which it matches the other arms' best share at 128 (cost).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ARMS = {
    "puct": ["search.arm=puct"],
    "gumbel": [],  # the recipe's own self-play search
    "tandem": ["search.arm=learned", "search_training.enabled=true"],
    # the pre-registered follow-up: which part carried a gain (selection and readout only)
    "tandem-notarget": ["search.arm=learned", "search_training.enabled=true",
                        "search_training.target=false"],
    # a follow-up registered after the study began (session 11): tandem with the learned
    # backup trained too (needs code after 573c0a4, the commit of the study's runs)
    "tandem-backup": ["search.arm=learned", "search_training.enabled=true",
                      "search_training.backup_pairs=4"],
}
COMMON = ["train.eval_every=1000", "train.eval_simulations=64", "train.eval_games=10",
          "train.eval_history=0", "train.keep_checkpoints=2"]
METRIC = "solver/optimal_share_search"
THRESHOLDS = (0.90, 0.93)
CLOCKS = ("cpu_seconds", "elapsed_seconds", "step")
CLOCK_NAMES = {"cpu_seconds": "CPU seconds", "elapsed_seconds": "wall seconds", "step": "steps"}
CLOCK_AXES = {"cpu_seconds": ("CPU minutes (self-play workers and learner)", 60),
              "elapsed_seconds": ("wall-clock minutes", 60), "step": ("learner steps", 1)}
"""Each clock's figure axis: its label and what its values are divided by."""
OWN_SEARCH = {"puct": "puct", "gumbel": "gumbel_greedy", "tandem": "learned",
              "tandem-notarget": "learned", "tandem-backup": "learned"}
"""Each arm's own search at evaluation (``alphazero ablate``'s arm names), as on the ladder."""
BOUNDARY_BUDGETS = (2, 4, 8, 16, 32, 64, 128)


def run_dir(root: Path, arm: str, seed: int) -> Path:
    return root / f"{arm}-seed{seed}"


def unknown_arm(arms: str) -> bool:
    """Say so (one line on stderr) and return True if ``arms`` names an arm the study lacks."""
    unknown = [arm for arm in arms.split(",") if arm not in ARMS]
    if unknown:
        print(f"tandem_study: unknown arm {unknown[0]!r} (known: {', '.join(ARMS)})",
              file=sys.stderr)
    return bool(unknown)


def cmd_run(args) -> int:
    root = Path(args.root)
    if unknown_arm(args.arms):
        return 2
    for seed in _ints(args.seeds):
        for arm in args.arms.split(","):
            path = run_dir(root, arm, seed)
            if (path / "summary.json").is_file():
                print(f"{path}: finished, skipped", flush=True)
                continue
            sets = [*ARMS[arm], *COMMON, "train.minutes=0",
                    f"train.cpu_minutes={args.cpu_minutes}", f"train.seed={seed}"]
            command = [sys.executable, "-m", "alphazero", "train"]
            if (path / "checkpoints").is_dir() and any((path / "checkpoints").glob("step_*.pt")):
                command += ["--resume", str(path)]
            else:
                command += ["connect4", "--run-dir", str(path)]
            command += [arg for item in sets for arg in ("--set", item)]
            print(" ".join(command), flush=True)
            code = subprocess.call(command)
            if code != 0:
                print(f"{path}: exit code {code}; run this command again to resume it")
                return code
            if args.keep:
                keep_run(path, Path(args.keep) / path.name)
    return 0


KEPT_FILES = ("evaluation.csv", "summary.json", "config.yaml", "search.pt")


def keep_run(path: Path, into: Path) -> Path:
    """Copy a finished run's small files into ``into`` (what the study's report, boundary and
    search parts read): evaluation.csv, summary.json, config.yaml, the TensorBoard events, the
    learned search (tandem arms) and ``final.pt``, the last checkpoint's network alone (no
    optimiser, no replay buffer: ~0.7 MB instead of ~65 MB)."""
    import shutil

    from alphazero.train import rundir
    from nets.checkpoint import load_checkpoint, save_checkpoint

    if not (path / "summary.json").is_file():
        raise FileNotFoundError(f"{path} is not a finished run (no summary.json)")
    checkpoints = rundir.list_checkpoints(path)
    if not checkpoints:
        raise FileNotFoundError(f"{path} has no checkpoint")
    into.mkdir(parents=True, exist_ok=True)
    for name in KEPT_FILES:
        if (path / name).is_file():
            shutil.copy2(path / name, into / name)
    for events in path.glob("events.out.tfevents.*"):
        shutil.copy2(events, into / events.name)
    step, last = checkpoints[-1]
    ckpt = load_checkpoint(last)
    save_checkpoint(into / "final.pt", model_state=ckpt["model"], network_config=ckpt["network"],
                    game=ckpt["game"], observation_shape=tuple(ckpt["observation_shape"]),
                    num_actions=ckpt["num_actions"],
                    extra={"step": step, "cpu_seconds": ckpt.get("cpu_seconds"),
                           "elapsed_seconds": ckpt.get("elapsed_seconds"), "run": path.name})
    print(f"{path}: kept in {into}", flush=True)
    return into


def cmd_keep(args) -> int:
    for run in args.runs:
        try:
            keep_run(Path(run), Path(args.into) / Path(run).name)
        except FileNotFoundError as err:
            print(f"tandem_study: {err}", file=sys.stderr)
            return 2
    return 0


def rows(path: Path) -> list[dict[str, float]]:
    with open(path / "evaluation.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)}
                for row in csv.DictReader(f)]


def time_to(table: list[dict[str, float]], threshold: float, clock: str) -> tuple[float, bool]:
    """(clock value where the metric first reaches ``threshold``, linearly interpolated from
    the previous row (from 0 at the start), True) or (the last row's clock, False: censored)."""
    before_t, before_v = 0.0, 0.0
    for row in table:
        t, v = row[clock], row[METRIC]
        if v >= threshold:
            if v == before_v:
                return t, True
            return before_t + (threshold - before_v) * (t - before_t) / (v - before_v), True
        before_t, before_v = t, v
    return (table[-1][clock] if table else math.nan), False


def bootstrap(values: np.ndarray, stat, resamples: int = 10_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    draws = [stat(values[rng.integers(0, len(values), len(values))]) for _ in range(resamples)]
    return np.percentile(draws, [2.5, 97.5])


def cmd_report(args) -> int:
    root = Path(args.root)
    clock = args.clock
    if args.arms and unknown_arm(args.arms):
        return 2
    wanted = set(args.arms.split(",")) if args.arms else None
    out = Path(args.out) if args.out else root / "report.json"
    if not out.parent.is_dir():
        print(f"tandem_study: --out {out}: no directory {out.parent}", file=sys.stderr)
        return 2
    found: dict[str, dict[int, list]] = {}
    for path in sorted(root.glob("*-seed*")):
        arm, seed = path.name.rsplit("-seed", 1)
        if (path / "evaluation.csv").is_file() and (wanted is None or arm in wanted):
            table = rows(path)
            if args.until is not None:
                table = [row for row in table if row[clock] <= args.until]
            if table:
                found.setdefault(arm, {})[int(seed)] = table
    if not found:
        print(f"no runs under {root}" + (f" with ladder rows up to {clock} {args.until:g}"
                                         if args.until is not None else ""))
        return 1
    report: dict = {}
    unit = CLOCK_NAMES[clock]
    print(f"| arm | seed | ladder rows | final {METRIC} | "
          + " | ".join(f"{unit} to {t:.0%}" for t in THRESHOLDS) + " |")
    print("|---|---|---|---|" + "---|" * len(THRESHOLDS))
    for arm, seeds in found.items():
        for seed, table in sorted(seeds.items()):
            times = [time_to(table, t, clock) for t in THRESHOLDS]
            cells = [f"{v:,.0f}" if reached else f">{v:,.0f}" for v, reached in times]
            print(f"| {arm} | {seed} | {len(table)} | {table[-1][METRIC]:.3f} | "
                  + " | ".join(cells) + " |")
            report.setdefault(arm, {})[seed] = {
                "final": table[-1][METRIC], "rows": len(table),
                **{f"{clock}_to_{t}": time_to(table, t, clock) for t in THRESHOLDS
                   for clock in CLOCKS}}
    print()
    for t in THRESHOLDS:
        key = f"{clock}_to_{t}"
        means, cut = {}, {}
        for arm, seeds in report.items():
            values = np.array([s[key][0] for s in seeds.values()])
            censored = sum(not s[key][1] for s in seeds.values())
            low, high = bootstrap(values, np.mean) if len(values) > 1 else (math.nan, math.nan)
            means[arm] = values
            cut[arm] = censored
            spread = (f"[{low:,.0f}, {high:,.0f}] over {len(values)} seeds" if len(values) > 1
                      else "(one seed: no interval)")
            print(f"{arm}: {unit} to {t:.0%}: mean {values.mean():,.0f} {spread}"
                  + (f" ({censored} censored at the budget: a lower bound)" if censored else ""))
        baselines = [a for a in ("puct", "gumbel") if a in means]
        if "tandem" in means and baselines:
            best = min(baselines, key=lambda a: means[a].mean())
            print(ratio_line(means, cut, "tandem", best, t, "(the better baseline)",
                             "(target <= 0.70x, interval excluding 1.0)"))
        for arm in means:
            if arm.startswith("tandem-") and "tandem" in means:
                print(ratio_line(means, cut, arm, "tandem", t, "(a follow-up)",
                                 "(the part it drops or adds mattered if the interval "
                                 "excludes 1.0)"))
    final_shares(report)
    out.write_text(json.dumps(report, indent=1) + "\n")
    if args.figure:
        curves_figure(found, Path(args.figure), clock)
        print(f"learning curves: {args.figure}")
    return 0


def two_arm_bootstrap(mine: np.ndarray, theirs: np.ndarray, combine, seed: int,
                      resamples: int = 10_000) -> np.ndarray:
    """95% interval of ``combine(mean of mine, mean of theirs)``, resampling each arm's seeds
    on its own."""
    rng = np.random.default_rng(seed)
    draws = [combine(rng.choice(mine, len(mine)).mean(), rng.choice(theirs, len(theirs)).mean())
             for _ in range(resamples)]
    return np.percentile(draws, [2.5, 97.5])


def ratio_line(means: dict[str, np.ndarray], cut: dict[str, int], arm: str, other: str,
               threshold: float, role: str, reading: str) -> str:
    """``arm``'s mean time over ``other``'s at ``threshold``, with the bootstrap interval
    resampling seeds within each arm, and what censoring makes of it."""
    ratio = means[arm].mean() / means[other].mean()
    low, high = two_arm_bootstrap(means[arm], means[other], np.divide, seed=1)
    return (f"{arm} / {other} {role} at {threshold:.0%}: {ratio:.2f}x [{low:.2f}, {high:.2f}] "
            f"{reading}"
            + (f"; {arm} censored, so its ratio is a lower bound" if cut[arm] else "")
            + (f"; {other} censored, so the ratio is uncertain in both directions"
               if cut[other] else ""))


def final_shares(report: dict) -> None:
    """Print each arm's final ladder share (mean over seeds, bootstrap over seeds) and tandem
    minus the better baseline's, resampling seeds within each arm: the pre-registration's
    second test (it counts against tandem if that interval lies below 0)."""
    finals = {arm: np.array([s["final"] for s in seeds.values()])
              for arm, seeds in report.items()}
    for arm, values in finals.items():
        spread = ("[{:.1f}, {:.1f}] over {} seeds".format(
            *(100 * bootstrap(values, np.mean)), len(values)) if len(values) > 1
            else "(one seed: no interval)")
        print(f"{arm}: final share {100 * values.mean():.1f}% {spread}")
    if "tandem" not in finals:
        return
    baselines = [a for a in ("puct", "gumbel") if a in finals]
    if baselines:
        best = max(baselines, key=lambda a: finals[a].mean())
        print(difference_line(finals, "tandem", best, "(the better baseline)",
                              "(against tandem if the interval lies below 0)"))
    for arm in finals:
        if arm.startswith("tandem-"):
            print(difference_line(finals, arm, "tandem", "(a follow-up)",
                                  "(the part mattered if the interval excludes 0)"))


def difference_line(finals: dict[str, np.ndarray], arm: str, other: str, role: str,
                    reading: str) -> str:
    mine, theirs = finals[arm], finals[other]
    low, high = 100 * two_arm_bootstrap(mine, theirs, np.subtract, seed=2)
    return (f"final share, {arm} - {other} {role}: "
            f"{100 * (mine.mean() - theirs.mean()):+.1f} points [{low:+.1f}, {high:+.1f}] "
            f"{reading}")


def mean_curve(tables: list[list[dict[str, float]]], points: int = 300,
               clock: str = "cpu_seconds"
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(grid on ``clock``, CPU seconds by default, mean over seeds, band low, band high) of
    the ladder metric: each seed's curve interpolated linearly onto a grid up to the shortest
    run's last row; the band is the 95% bootstrap interval of the mean, resampling seeds (with
    one seed, no band)."""
    end = min(table[-1][clock] for table in tables)
    start = max(table[0][clock] for table in tables)
    grid = np.linspace(start, end, points)
    curves = np.stack([np.interp(grid, [r[clock] for r in table],
                                 [r[METRIC] for r in table]) for table in tables])
    mean = curves.mean(axis=0)
    if len(tables) < 2:
        return grid, mean, mean, mean
    rng = np.random.default_rng(0)
    draws = curves[rng.integers(0, len(tables), (2000, len(tables)))].mean(axis=1)
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    return grid, mean, low, high


def curves_figure(found: dict[str, dict[int, list]], path: Path,
                  clock: str = "cpu_seconds") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    label, scale = CLOCK_AXES[clock]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for arm, seeds in found.items():
        tables = [t for _, t in sorted(seeds.items()) if t]
        grid, mean, low, high = mean_curve(tables, clock=clock)
        seeds = f"{len(tables)} seed{'' if len(tables) == 1 else 's'}"
        line, = ax.plot(grid / scale, 100 * mean, label=f"{arm} ({seeds})")
        ax.fill_between(grid / scale, 100 * low, 100 * high, color=line.get_color(), alpha=0.2)
        for table in tables:
            ax.plot([r[clock] / scale for r in table], [100 * r[METRIC] for r in table],
                    ".", color=line.get_color(), alpha=0.5)
    for threshold in THRESHOLDS:
        ax.axhline(100 * threshold, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(label)
    ax.set_ylabel("optimal moves, own search at 64 sims (%)")
    ax.set_title("Tandem study: held-out optimal moves against compute")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def boundary_table(solved: dict[tuple[str, int, str], np.ndarray], budgets: Sequence[int]
                   ) -> dict:
    """The boundary figures from ``solved`` ((arm, seed, search) -> bool[len(budgets), P]).

    Per arm (its own search, seeds averaged, bootstrap interval over seeds): the share at each
    budget; ``reach``, the share optimal at some budget; ``only``, positions optimal at some
    budget for this arm (any seed) and never for any other arm (any seed, own search);
    ``sims_to_match``, the fewest budget at which the arm's mean share reaches the best other
    arm's mean share at the largest budget (None: not within the budgets)."""
    own = {k: v for k, v in solved.items() if k[2] == OWN_SEARCH[k[0]]}
    arms = sorted({arm for arm, _, _ in own})
    ever = {arm: np.any([v.any(axis=0) for (a, _, _), v in own.items() if a == arm], axis=0)
            for arm in arms}
    out: dict = {"budgets": list(budgets), "arms": {}}
    means = {}
    for arm in arms:
        grids = [v for (a, _, _), v in sorted(own.items()) if a == arm]
        shares = np.stack([g.mean(axis=1) for g in grids])  # [seeds, budgets]
        reach = np.array([g.any(axis=0).mean() for g in grids])
        means[arm] = shares.mean(axis=0)
        others = [b for b in arms if b != arm]
        only = (float((ever[arm] & ~np.any([ever[b] for b in others], axis=0)).mean())
                if others else None)
        out["arms"][arm] = {
            "seeds": len(grids), "share": shares.mean(axis=0).tolist(),
            "share_interval": [list(_seed_interval(shares[:, j])) for j in range(len(budgets))],
            "reach": float(reach.mean()), "reach_interval": list(_seed_interval(reach)),
            "only": only}
    for arm in arms:
        others = [means[b][-1] for b in arms if b != arm]
        if not others:
            continue
        hit = np.flatnonzero(means[arm] >= max(others))
        out["arms"][arm]["sims_to_match"] = int(budgets[hit[0]]) if hit.size else None
    puct_on = {}
    for (arm, seed, search), v in solved.items():
        if search == "puct" and OWN_SEARCH[arm] != "puct":
            puct_on.setdefault(arm, []).append((seed, v))
    for arm, pairs in puct_on.items():  # the same networks searched by PUCT
        out["arms"][arm]["puct_share"] = np.mean([v.mean(axis=1) for _, v in pairs],
                                                 axis=0).tolist()
        out["arms"][arm]["puct_reach"] = float(np.mean([v.any(axis=0).mean()
                                                        for _, v in pairs]))
    return out


def _seed_interval(values: np.ndarray) -> tuple[float, float]:
    if len(values) < 2:
        return math.nan, math.nan
    low, high = bootstrap(np.asarray(values, dtype=float), np.mean, resamples=2000)
    return float(low), float(high)


def cmd_boundary(args) -> int:
    from alphazero.ablate.arms import Split, arm_setup, search_positions
    from alphazero.config import load_config
    from alphazero.eval.labelled import labelled_positions
    from games import get_game
    from nets.loader import resolve_evaluate
    from nets.search_weights import LearnedSearch

    root = Path(args.root)
    budgets = _ints(args.budgets)
    runs = [p for p in sorted(root.glob("*-seed*")) if (p / "final.pt").is_file()
            and p.name.rsplit("-seed", 1)[0] in OWN_SEARCH]
    if not runs:
        print(f"no finished runs (with final.pt) under {root}")
        return 1
    game = get_game("connect4")
    params = load_config("connect4").search
    split = Split.of(labelled_positions(game, args.positions, seed=0), game.num_actions)
    rows = np.arange(len(split.positions))
    solved: dict[tuple[str, int, str], np.ndarray] = {}
    for path in runs:
        arm, seed = path.name.rsplit("-seed", 1)
        evaluate, _ = resolve_evaluate(game, None, path / "final.pt", backend=args.backend,
                                       num_threads=1)
        weights = None
        if OWN_SEARCH[arm] == "learned":
            weights = LearnedSearch.load(path / "search.pt", expected_game="connect4").weights()
        for search in dict.fromkeys([OWN_SEARCH[arm], "puct"]):
            setup = arm_setup(search, params, weights=weights)
            solved[(arm, int(seed), search)] = np.stack([
                split.optimal[rows, search_positions(game, evaluate, setup, split.states, b,
                                                     seed=0, batch_size=128).action]
                for b in budgets])
            print(f"{path.name} {search}: " + ", ".join(
                f"{b}: {s:.3f}" for b, s in zip(budgets, solved[(arm, int(seed), search)]
                                                .mean(axis=1))), flush=True)
    table = boundary_table(solved, budgets)
    table["positions"] = len(split.positions)
    print(f"\nboundary ({len(split.positions)} held-out positions, labelled seed 0), own "
          "search, mean over seeds [bootstrap over seeds]:")
    print("| arm | seeds | " + " | ".join(map(str, budgets))
          + " | any budget | only this arm | sims to match the others' best at "
          f"{budgets[-1]} |")
    print("|---|---|" + "---|" * (len(budgets) + 3))
    for arm, row in table["arms"].items():
        match = row.get("sims_to_match")
        print(f"| {arm} | {row['seeds']} | " + " | ".join(f"{100 * s:.1f}" for s in row["share"])
              + f" | {100 * row['reach']:.1f} | "
              + ("-" if row["only"] is None else f"{100 * row['only']:.1f}") + " | "
              + (f"{match}" if match else f"> {budgets[-1]}") + " |")
    for arm, row in table["arms"].items():
        if "puct_share" in row:
            print(f"{arm}'s networks searched by PUCT: " + ", ".join(
                f"{b}: {100 * s:.1f}" for b, s in zip(budgets, row["puct_share"]))
                + f"; any budget {100 * row['puct_reach']:.1f}")
    out = Path(args.out) if args.out else root / "boundary.json"
    out.write_text(json.dumps(table, indent=1) + "\n")
    np.savez_compressed(out.with_suffix(".npz"), **{
        f"{a}-seed{s}-{k}": v for (a, s, k), v in solved.items()})
    print(f"written: {out} (and the per-position answers, {out.with_suffix('.npz').name})")
    return 0


def cmd_search(args) -> int:
    """A tandem run's final network searched by its own learned search and by PUCT."""
    import dataclasses

    from alphazero.config import load_config
    from alphazero.eval.labelled import labelled_positions, optimal_share
    from alphazero.eval.search_agent import SearchAgent
    from games import get_game
    from nets.loader import resolve_evaluate
    from nets.search_weights import LearnedSearch

    game = get_game("connect4")
    path = Path(args.run)
    evaluate, _ = resolve_evaluate(game, None, path / "final.pt", backend="onnx-int8",
                                   num_threads=1)
    learned = LearnedSearch.load(path / "search.pt", expected_game="connect4").weights()
    params = load_config("connect4").search
    positions = labelled_positions(game, args.positions, seed=0)  # measuring only
    print(f"{path}: optimal moves on {len(positions)} held-out positions (labelled seed 0)")
    for sims in _ints(args.budgets):
        shares = {}
        for arm in ("puct", "learned"):
            agent = SearchAgent(game, evaluate, dataclasses.replace(params, arm=arm,
                                                                    simulations=sims),
                                learned=learned if arm == "learned" else None)
            shares[arm] = optimal_share(agent, positions).optimal
        print(f"  {sims:4d} simulations: PUCT {shares['puct']:.1%}, learned "
              f"{shares['learned']:.1%}")
    return 0


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run (or resume) the study's training runs one by one")
    r.add_argument("--arms", default="puct,gumbel,tandem", help="arms to run, in order")
    r.add_argument("--seeds", default="0,1,2", help="seeds, comma-separated")
    r.add_argument("--cpu-minutes", type=float, default=80.0,
                   help="CPU-time budget of a run (workers and learner)")
    r.add_argument("--root", default="runs/tandem-study", help="where the runs go")
    r.add_argument("--keep", metavar="DIR",
                   help="after each finished run, keep its small files in DIR/ARM-seedN "
                        "(see keep), e.g. docs/results/tandem-study")
    r.set_defaults(func=cmd_run)
    k = sub.add_parser("keep", help="copy finished runs' small files (results, events, the "
                                    "final network alone, the learned search) into a directory")
    k.add_argument("runs", nargs="+", help="finished run directories")
    k.add_argument("--into", default="docs/results/tandem-study", help="where to keep them")
    k.set_defaults(func=cmd_keep)
    s = sub.add_parser("report", help="times to 90%% and 93%% with intervals across seeds")
    s.add_argument("--root", default="runs/tandem-study", help="where the runs are")
    s.add_argument("--figure", help="draw the learning curves into this PNG")
    s.add_argument("--clock", choices=CLOCKS, default="cpu_seconds",
                   help="the clock times are read on (steps: the fairest across sessions, "
                        "whose CPU seconds a step differ; it does not charge tandem's teacher)")
    s.add_argument("--arms", help="only these arms, comma-separated (default: every run found)")
    s.add_argument("--until", type=float,
                   help="read only the ladder rows up to this value of the clock (runs of "
                        "different lengths compared at the same horizon: times past it are "
                        "censored there, the final share is the last row's before it)")
    s.add_argument("--out", help="JSON of the figures (default: ROOT/report.json)")
    s.set_defaults(func=cmd_report)
    b = sub.add_parser("boundary", help="each arm's final network at 2-128 simulations: "
                                        "reach (answered at some budget) and cost")
    b.add_argument("--root", default="runs/tandem-study", help="where the runs are")
    b.add_argument("--budgets", default=",".join(map(str, BOUNDARY_BUDGETS)),
                   help="simulations, comma-separated")
    b.add_argument("--positions", type=int, default=1000, help="held-out positions")
    b.add_argument("--backend", default="onnx-int8", help="network backend (as in training)")
    b.add_argument("--out", help="JSON of the figures (default: ROOT/boundary.json)")
    b.set_defaults(func=cmd_boundary)
    c = sub.add_parser("search", help="a tandem run's learned search against PUCT, on its "
                                      "own final network (final.pt and search.pt in RUN)")
    c.add_argument("run", help="a run directory holding final.pt and search.pt")
    c.add_argument("--budgets", default="8,16,64", help="simulations, comma-separated")
    c.add_argument("--positions", type=int, default=1000, help="held-out positions")
    c.set_defaults(func=cmd_search)
    args = p.parse_args(argv)
    from nets.checkpoint import CheckpointError

    try:
        return args.func(args)
    except (CheckpointError, FileNotFoundError) as err:  # a run's missing or bad file
        print(f"tandem_study: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
