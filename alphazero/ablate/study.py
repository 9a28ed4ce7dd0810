"""``alphazero ablate``: search arms compared at equal simulation budgets and equal wall time.

Arms (``ARMS``): the network's policy alone (0 simulations); PUCT with the game config's
constants; PUCT with ``c_init`` tuned per budget and checkpoint on a separate tuning split (the
baseline every other arm is compared with); Gumbel AlphaZero; the learned readout on a PUCT
tree; the learned selection with PUCT's readout; and both learned parts together.

Positions are solver-labelled (``alphazero.eval.labelled``): labelled seed 0 is the evaluation
split, seed 1 the learned search's training split, seed 2 the tuning split; positions of the
evaluation split that also occur in the other two are dropped. For each checkpoint, arm, budget
and seed the study measures the share of optimal moves (keeping the game-theoretic value), of
best-score moves, the value error ``|root value - sign(score)|`` and the time per move, overall
and per stratum of stone counts; paired bootstrap intervals (``alphazero.eval.stats``) for each
arm's difference from tuned PUCT; and the Elo of each arm against tuned PUCT from
solver-balanced openings, each played twice with colours swapped. Deterministic arms (all but
Gumbel with noise) give the same answer for every seed, so they are run once.

The boundary study searches with PUCT at budgets 1, 2, 4, ... up to ``boundary.max_budget``
for a series of training checkpoints: does training let search find answers it could not find
before at any budget, or only find them with fewer simulations?

Outputs in the run directory: ``results.csv`` / ``results.json`` (one row per measurement:
study, arm, checkpoint, budget, seed, stratum, metric, value), ``summary.md``, figures
(PNG, matplotlib's Agg backend) and TensorBoard logs under ``tensorboard/``.

This module runs the studies; the config is ``alphazero.ablate.config``, the networks,
positions and arms' searches ``alphazero.ablate.arms``, the outputs ``alphazero.ablate.report``
and ``alphazero.ablate.figures``. The package ``alphazero.ablate`` exports their public names.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from alphazero.ablate.arms import (
    Split,
    arm_setup,
    balanced_openings,
    evaluation_positions,
    fresh_seed,
    incremental_puct,
    load_network,
    search_positions,
    strata_of,
    tune_c_init,
)
from alphazero.ablate.config import (
    BASELINE,
    METRICS,
    TRAINING_SEED,
    TUNING_SEED,
    AblationConfig,
    Log,
    boundary_checkpoints,
)
from alphazero.ablate.report import write_reports
from alphazero.ablate.results import Results, read_value, write_results
from alphazero.config import ConfigError, load_config
from alphazero.eval.elo import elo_difference
from alphazero.eval.labelled import LabelledPosition, labelled_positions
from alphazero.eval.matches import play_matches
from alphazero.eval.stats import paired_bootstrap
from games import get_game
from nets.checkpoint import CheckpointError
from nets.loader import names_shipped, shipped_checkpoint
from search import SearchParams
from search.learned import LearnedWeights

# torch (and TensorBoard) load inside the study runners: `alphazero.ablate` is imported by the
# CLI and by `import alphazero.ablate`, which must stay torch-free (~2 s; tests/test_public_api).


# ----------------------------------------------------------------------- match rows
def match_rows(results: Results, arm: str, checkpoint: str, budget: int, seed: Any,
               wins: int, draws: int, losses: int, confidence: float) -> None:
    """Elo (finite: a bound when the score is 0% or 100%), its interval and W/D/L."""
    est = elo_difference(wins, draws, losses, confidence=confidence)
    for metric, value in (("elo", est.conservative), ("elo_low", est.low),
                          ("elo_high", est.high), ("score", est.score), ("wins", wins),
                          ("draws", draws), ("losses", losses), ("games", est.games)):
        results.add("arms", arm, checkpoint, budget, seed, metric, value)


# ------------------------------------------------------------------------ arms study
@dataclass
class _Study:
    """What every part of a study needs."""

    cfg: AblationConfig
    game: Any
    search: SearchParams  # the game config's search constants
    results: Results
    log: Log


def _setup(cfg: AblationConfig, out_dir: Path, checkpoints: dict[str, str], log: Log):
    """Game, game config, and one ``evaluate`` per checkpoint (all loaded before any work)."""
    from torch.utils.tensorboard import SummaryWriter

    from nets.loader import model_evaluate

    if not checkpoints:
        raise ConfigError("the ablation config lists no checkpoints")
    game = get_game(cfg.game)
    base = load_config(cfg.base_config or cfg.game)
    if base.game != cfg.game:
        raise ConfigError(f"base_config {cfg.base_config} is for {base.game}, not {cfg.game}")
    nets = {label: load_network(path, game, base.network) for label, path in checkpoints.items()}
    evaluates = {label: model_evaluate(net, backend=cfg.backend, num_threads=cfg.threads,
                                       game=game)
                 for label, net in nets.items()}
    writer = SummaryWriter(str(out_dir / "tensorboard"))
    return _Study(cfg, game, base.search, Results(writer), log), evaluates


def prepare_learned(study: _Study, evaluate: Any, out_dir: Path
                    ) -> tuple[LearnedWeights | None, list[LabelledPosition]]:
    """The learned search's weights (loaded, or trained on labelled seed 1 with ``evaluate``)
    and its training positions (kept out of the evaluation split)."""
    from alphazero.learned.training import solver_costs, train_learned_search
    from nets.search_weights import LearnedSearch

    cfg, game = study.cfg, study.game
    if not cfg.wants_learned:
        return None, []
    training = labelled_positions(game, cfg.train.positions, seed=TRAINING_SEED)
    if cfg.learned_weights:
        study.log(f"learned search: {cfg.learned_weights}")
        return LearnedSearch.load(cfg.learned_weights).weights(), training
    t = cfg.train
    study.log(f"training the learned search on {cfg.learned_label} ({t.method}): "
              f"{t.iterations} iterations, {len(training)} positions, budgets {list(t.budgets)}")
    costs = np.stack([solver_costs(p.scores, game.num_actions) for p in training])
    train_cfg = t.search_config()
    writer = study.results.writer

    def log(it: int, stats: dict) -> None:
        for key, value in stats.items():
            if writer is not None and np.isfinite(value):
                writer.add_scalar(f"train_search/{key}", value, it)

    learned = train_learned_search(game, evaluate, study.search, [p.state() for p in training],
                                   costs, train_cfg, log=log)
    learned.meta.update({"game": game.name, "network": cfg.checkpoints[cfg.learned_label],
                         "budgets": list(t.budgets), "teacher": "solver",
                         "method": t.method, "iterations": t.iterations})
    learned.save(out_dir / "learned_search.pt")
    return learned.weights(), training


def run_arms_study(cfg: AblationConfig, out_dir: Path, *, log: Log = print) -> Results:
    """Every arm x checkpoint x budget (x seed) on the evaluation split, and the matches (on
    a game without a solver: on its best-move oracle, ``alphazero.ablate.oracle``)."""
    study, evaluates = _setup(cfg, out_dir, cfg.checkpoints, log)
    if cfg.oracle:
        from alphazero.ablate.oracle import run_oracle_study

        return run_oracle_study(cfg, out_dir, study, evaluates, log=log)
    game, results = study.game, study.results
    tuning = Split.of(labelled_positions(game, cfg.tuning_positions, seed=TUNING_SEED),
                      game.num_actions)
    weights, training = prepare_learned(study, evaluates[cfg.learned_label], out_dir)
    kept = evaluation_positions(game, cfg.positions, tuning.positions + training,
                                seed=cfg.evaluation_seed)
    evaluation = Split.of(kept, game.num_actions)
    openings = (balanced_openings(game, cfg.openings, cfg.opening_plies, cfg.opening_margin)
                if cfg.openings else [])
    (out_dir / "openings.txt").write_text("".join(  # the games' notation: digits 1-9
        "".join(str(a + 1) for a in moves) + "\n" for moves in openings))
    for metric, value in (("evaluation_positions", len(kept)),
                          ("evaluation_dropped", cfg.positions - len(kept)),
                          ("tuning_positions", len(tuning.positions)),
                          ("training_positions", len(training)), ("openings", len(openings))):
        results.add("data", "-", "-", 0, "all", metric, value)
    log(f"{len(kept)} evaluation positions ({cfg.positions - len(kept)} dropped: also in the "
        f"training or tuning split), {len(openings)} balanced openings")
    for label, evaluate in evaluates.items():
        tuned = _tune(study, label, evaluate, tuning)
        scores = _score_arms(study, label, evaluate, evaluation, tuned, weights)
        _differences(study, label, scores, strata_of(evaluation.stones, cfg.strata),
                     len(kept))
        write_results(results.rows, out_dir)  # a stopped run keeps every finished part
        if openings and (not cfg.match_checkpoints or label in cfg.match_checkpoints):
            _matches(study, label, evaluate, tuned, weights, openings,
                     save=lambda: write_results(results.rows, out_dir))
    results.writer.close()
    return results


def _tune(study: _Study, label: str, evaluate: Any, tuning: Split) -> dict[int, float]:
    tuned = {}
    for budget in study.cfg.budgets:
        c, shares = tune_c_init(study.game, evaluate, study.search, tuning, budget,
                                study.cfg.c_grid, batch_size=study.cfg.batch_size)
        tuned[budget] = c
        for cand, share in shares.items():
            study.results.add("tuning", f"puct(c={cand:g})", label, budget, 0, "optimal_share",
                              share)
        study.results.add("arms", BASELINE, label, budget, "all", "c_init", c)
        study.log(f"[{label}] {budget} sims: tuned c_init {c:g} (tuning optimal share "
                  f"{shares[c]:.3f})")
    return tuned


def _score_arms(study: _Study, label: str, evaluate: Any, split: Split,
                tuned: dict[int, float], weights: LearnedWeights | None
                ) -> dict[tuple[str, int], dict[str, np.ndarray]]:
    """Search the evaluation split with every arm; per-position scores pooled over seeds."""
    cfg, results = study.cfg, study.results
    strata = strata_of(split.stones, cfg.strata)
    scores = {}
    for arm in cfg.ordered_arms:
        for budget in ([0] if arm == "policy" else cfg.budgets):
            setup = arm_setup(arm, study.search, weights=weights, c_init=tuned.get(budget),
                              gumbel_noise=cfg.gumbel_noise)
            per_seed, seconds = [], []
            for seed in (cfg.seeds if setup.noise else cfg.seeds[:1]):
                run = search_positions(study.game, evaluate, setup, split.states, budget,
                                       seed=seed, batch_size=cfg.batch_size)
                per_seed.append(split.score(run.action, run.value))
                seconds.append(run.seconds_per_move)
                results.add_scores("arms", arm, label, budget, seed, per_seed[-1], strata)
                results.add("arms", arm, label, budget, seed, "seconds_per_move", seconds[-1])
            pooled = {m: np.mean([s[m] for s in per_seed], axis=0) for m in METRICS}
            results.add_scores("arms", arm, label, budget, "all", pooled, strata)
            results.add("arms", arm, label, budget, "all", "seconds_per_move", np.mean(seconds))
            scores[(arm, budget)] = pooled
            study.log(f"[{label}] {arm} {budget} sims: optimal {pooled['optimal_share'].mean():.3f}"
                      f", best {pooled['best_share'].mean():.3f}, value error "
                      f"{pooled['value_error'].mean():.3f}, {1000 * np.mean(seconds):.2f} ms/move")
    return scores


def _differences(study: _Study, label: str, scores: dict, strata: dict[str, np.ndarray],
                 count: int) -> None:
    """Paired bootstrap intervals of every arm minus tuned PUCT, overall and per stratum."""
    cfg = study.cfg
    groups = {"all": np.ones(count, dtype=bool), **strata}
    for arm in cfg.ordered_arms[1:]:
        for budget in cfg.budgets:
            mine, base = scores[(arm, 0 if arm == "policy" else budget)], scores[(BASELINE, budget)]
            for metric in METRICS:
                for stratum, mask in groups.items():
                    iv = paired_bootstrap(mine[metric][mask], base[metric][mask],
                                          resamples=cfg.resamples, confidence=cfg.confidence)
                    for suffix, value in (("", iv.estimate), ("_low", iv.low),
                                          ("_high", iv.high)):
                        study.results.add("arms", arm, label, budget, "all",
                                          f"{metric}_diff{suffix}", value, stratum)


def _matches(study: _Study, label: str, evaluate: Any, tuned: dict[int, float],
             weights: LearnedWeights | None, openings: list[list[int]], *,
             save: Callable[[], None] = lambda: None) -> None:
    """Each arm of ``match_arms`` (and seed) against tuned PUCT at every budget, every opening
    with both colours; all of a budget's matches at once, so tuned PUCT searches them in one
    batch. ``save()`` is called after each budget."""

    cfg, game = study.cfg, study.game
    for budget in cfg.budgets:
        baseline = arm_setup(BASELINE, study.search, c_init=tuned[budget]).agent(
            game, evaluate, budget)
        pairings, keys = [], []
        for arm in cfg.ordered_arms[1:]:
            if cfg.match_arms and arm not in cfg.match_arms:
                continue
            setup = arm_setup(arm, study.search, weights=weights, c_init=tuned[budget],
                              gumbel_noise=cfg.gumbel_noise)
            for seed in (cfg.seeds if setup.noise else cfg.seeds[:1]):
                pairings.append((setup.agent(game, evaluate, 0 if arm == "policy" else budget,
                                             seed=seed), baseline))
                keys.append((arm, seed))
        matches = play_matches(game, pairings, games=2 * len(openings), openings=openings)
        totals: dict[str, np.ndarray] = {}
        for (arm, seed), result in zip(keys, matches):
            wdl = np.array([result.wins, result.draws, result.losses])
            totals[arm] = totals.get(arm, 0) + wdl
            match_rows(study.results, arm, label, budget, seed, *wdl.tolist(), cfg.confidence)
        for arm, wdl in totals.items():
            match_rows(study.results, arm, label, budget, "all", *wdl.tolist(), cfg.confidence)
            study.log(f"[{label}] {arm} vs {BASELINE} at {budget} sims: W/D/L "
                      f"{'/'.join(map(str, wdl))}")
        save()


# -------------------------------------------------------------------- boundary study
def boundary_budgets(max_budget: int) -> list[int]:
    """1, 2, 4, ... up to the first power of 2 >= ``max_budget``."""
    budgets = [1]
    while budgets[-1] < max_budget:
        budgets.append(2 * budgets[-1])
    return budgets



def run_boundary_study(cfg: AblationConfig, out_dir: Path, *, log: Log = print) -> Results:
    """PUCT's accuracy from 1 to ``boundary.max_budget`` simulations for each checkpoint."""
    study, evaluates = _setup(cfg, out_dir, boundary_checkpoints(cfg), log)
    game, results = study.game, study.results
    positions = labelled_positions(game, cfg.boundary.positions, seed=cfg.evaluation_seed)
    split = Split.of(positions, game.num_actions)
    strata = strata_of(split.stones, cfg.strata)
    budgets = boundary_budgets(cfg.boundary.max_budget)
    results.add("data", "-", "-", 0, "all", "evaluation_positions", len(split.positions))
    solved: dict[str, np.ndarray] = {}  # label -> bool[len(budgets), P]
    for label, evaluate in evaluates.items():
        action, value, seconds = incremental_puct(game, evaluate, study.search, split.states,
                                                  budgets, batch_size=cfg.batch_size)
        for j, budget in enumerate(budgets):
            scores = split.score(action[j], value[j])
            results.add_scores("boundary", "puct", label, budget, 0, scores, strata,
                               tensorboard=True)
            results.add("boundary", "puct", label, budget, 0, "seconds_per_move", seconds[j],
                        tensorboard=True)
        solved[label] = split.optimal[np.arange(len(split.positions))[None, :], action]
        log(f"[{label}] PUCT optimal share by budget: " + ", ".join(
            f"{b}: {s:.3f}" for b, s in zip(budgets, solved[label].mean(axis=1))))
        write_results(results.rows, out_dir)
    first = next(iter(solved))
    first_ever, first_top = solved[first].any(axis=0), solved[first][-1].mean()
    for label, grid in solved.items():
        reach = np.flatnonzero(grid.mean(axis=1) >= first_top)
        for metric, value in (
                ("ever_optimal", grid.any(axis=0).mean()),
                ("new_vs_first", (grid[-1] & ~first_ever).mean()),
                ("lost_vs_first", (~grid.any(axis=0) & first_ever).mean()),
                ("budget_to_match_first", budgets[reach[0]] if reach.size else np.nan)):
            results.add("boundary", "puct", label, budgets[-1], 0, metric, value)
    results.writer.close()
    return results


# ------------------------------------------------------------------------- run
def report_from_results(cfg: AblationConfig, out_dir: Path, *, study: str = "arms"
                        ) -> list[Path]:
    """Rewrite ``summary.md`` and the figures from ``out_dir/results.json``: after a run that
    was stopped (results are written after every checkpoint) or to redraw a finished one.
    Checkpoints with no results yet are left out of the report."""

    path = Path(out_dir) / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results to report: {path} does not exist")
    try:
        rows = json.loads(path.read_text())
        for row in rows:
            row["value"] = read_value(row["value"])
    except (ValueError, KeyError, TypeError) as err:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path} is not an ablate results file ({type(err).__name__}: "
                         f"{err})") from None
    if study == "arms":
        done = {r["checkpoint"] for r in rows if r["study"] == "arms"}
        kept = {k: v for k, v in cfg.checkpoints.items() if k in done}
        if not kept:
            raise ValueError(f"{path} has no results of the arms study")
        cfg = dataclasses.replace(
            cfg, checkpoints=kept, learned_on=cfg.learned_on if cfg.learned_on in kept else "",
            match_checkpoints=tuple(m for m in cfg.match_checkpoints if m in kept))
    return write_reports(rows, cfg, Path(out_dir), study)


def run_ablation(cfg: AblationConfig, out_dir: Path, *, study: str = "arms",
                 log: Log = print) -> list[Path]:
    """Run the ``arms`` or ``boundary`` study into ``out_dir``; returns the files written."""
    if study not in ("arms", "boundary"):
        raise ValueError(f"study must be arms or boundary, not {study!r}")
    if study == "boundary" and cfg.oracle:
        raise ConfigError(f"the boundary study needs a solver-labelled split; {cfg.game} has "
                          "none (run the arms study: its budgets show accuracy against them)")

    checkpoints = cfg.checkpoints if study == "arms" else boundary_checkpoints(cfg)
    for spec in checkpoints.values():  # fail before any work or any file
        if fresh_seed(spec) is None and not Path(spec).is_file() and not (
                names_shipped(spec, cfg.game) and shipped_checkpoint(cfg.game)):
            raise CheckpointError(f"checkpoint not found: {spec}")
    if cfg.learned_weights and cfg.wants_learned and not Path(cfg.learned_weights).is_file():
        raise CheckpointError(f"learned_weights not found: {cfg.learned_weights} (a path from "
                              "where the command runs; make one with alphazero train-search)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ablation.yaml").write_text(yaml.safe_dump(dataclasses.asdict(cfg),
                                                          sort_keys=False))
    runner = run_arms_study if study == "arms" else run_boundary_study
    rows = runner(cfg, out_dir, log=log).rows
    write_results(rows, out_dir)
    return [out_dir / "results.csv", out_dir / "results.json",
            *write_reports(rows, cfg, out_dir, study)]
