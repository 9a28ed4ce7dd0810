"""The ablation's result rows (``Results``), their files ``results.csv`` / ``results.json``,
and the helpers that read rows back (``index_rows``, ``lookup``, ``labels_of``) for the
summaries (``alphazero.ablate.report``) and the figures (``alphazero.ablate.figures``)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from nets.files import atomic_write


# --------------------------------------------------------------------------- results
class Results:
    """Rows ``(study, arm, checkpoint, budget, seed, stratum, metric, value)``, mirrored to
    TensorBoard as ``study/metric/checkpoint/arm`` by budget (all positions; by default only
    the pooled seeds, ``seed == "all"``)."""

    COLUMNS = ("study", "arm", "checkpoint", "budget", "seed", "stratum", "metric", "value")

    def __init__(self, writer: Any = None) -> None:
        self.rows: list[dict[str, Any]] = []
        self.writer = writer

    def add(self, study: str, arm: str, checkpoint: str, budget: int, seed: Any, metric: str,
            value: float, stratum: str = "all", *, tensorboard: bool | None = None) -> None:
        self.rows.append(dict(zip(self.COLUMNS, (study, arm, checkpoint, int(budget), seed,
                                                 stratum, metric, float(value)))))
        if tensorboard is None:
            tensorboard = seed == "all"
        if self.writer is not None and tensorboard and stratum == "all" and \
                np.isfinite(value):
            self.writer.add_scalar(f"{study}/{metric}/{checkpoint}/{arm}", value, int(budget))

    def add_scores(self, study: str, arm: str, checkpoint: str, budget: int, seed: Any,
                   scores: dict[str, np.ndarray], strata: dict[str, np.ndarray], *,
                   tensorboard: bool | None = None) -> None:
        for metric, values in scores.items():
            self.add(study, arm, checkpoint, budget, seed, metric, values.mean(),
                     tensorboard=tensorboard)
            for label, mask in strata.items():
                self.add(study, arm, checkpoint, budget, seed, metric, values[mask].mean(),
                         label)


# --------------------------------------------------------------------------- outputs
def write_results(rows: list[dict[str, Any]], out_dir: Path) -> None:
    """``results.csv`` and ``results.json`` (an infinity as ``inf`` / ``-inf``, in JSON as
    those strings, NaN as empty / null: strict JSON that ``read_value`` turns back), each
    written atomically: the studies call this after every checkpoint, so a stopped run keeps
    what it finished."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=Results.COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "value": row["value"] if np.isfinite(row["value"]) else
                         ("inf" if row["value"] > 0 else "-inf" if row["value"] < 0 else "")})
    clean = [{**row, "value": _json_value(row["value"])} for row in rows]
    data = (json.dumps(clean, indent=1, allow_nan=False) + "\n").encode()
    atomic_write(out_dir / "results.csv", lambda f: f.write(text.getvalue().encode()))
    atomic_write(out_dir / "results.json", lambda f: f.write(data))


def _json_value(value: float) -> float | str | None:
    if np.isfinite(value):
        return value
    return None if np.isnan(value) else ("inf" if value > 0 else "-inf")


def read_value(value: Any) -> float:
    """A ``results.json`` value as a float (null: NaN; "inf" / "-inf": the infinities, such
    as an Elo bound of a 100% score)."""
    if value is None:
        return float("nan")
    if value in ("inf", "-inf"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"value {value!r} is not a number")
    return float(value)


# ----------------------------------------------------------------------- reading rows
Index = dict[tuple, float]


def index_rows(rows: list[dict[str, Any]]) -> Index:
    """Rows keyed by (study, arm, checkpoint, budget, seed, stratum, metric)."""
    return {(r["study"], r["arm"], r["checkpoint"], r["budget"], r["seed"], r["stratum"],
             r["metric"]): r["value"] for r in rows}


def lookup(idx: Index, arm: str, checkpoint: str, budget: int, metric: str, *,
         study: str = "arms", seed: Any = "all", stratum: str = "all") -> float:
    """One value of ``index_rows``'s index; NaN when it was not measured."""
    return idx.get((study, arm, checkpoint, budget, seed, stratum, metric), np.nan)


def labels_of(rows: list[dict[str, Any]], key: str, study: str) -> list:
    """The distinct values of column ``key`` in ``study``'s rows, in order of appearance."""
    return list(dict.fromkeys(r[key] for r in rows if r["study"] == study))
