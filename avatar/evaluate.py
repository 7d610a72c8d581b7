"""Accuracy of the avatar pipeline on real people: how well fitted bodies hit given measurements,
and how well the completion model predicts the ones not given.

``fitting``: for each given girth or length, |achieved − target| over subjects (median, p95, max in
mm) and the share within the tolerance of :data:`avatar.body.measurements.ISO_TOLERANCE_MM`.
``completion``: for each measurement not given, the completion model's error and interval coverage
per dataset next to linear baselines (:func:`avatar.completion.completion_report`), plus
``achieved_in_interval_pct``: for each measurement not given, the share of subjects whose fitted
mesh measures inside its completed 80 % interval.
The bodies come from the production path itself (:func:`avatar.create.complete` and
:func:`avatar.create.fit_body`); ``seconds_per_avatar`` is its wall time per subject (no file
export), once the models are loaded; ``setup_seconds`` is that one-off loading (body model, girth
loops, completion model), which a running service pays once per process, not per avatar.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from avatar.body import loops
from avatar.body.fitting import FITTABLE
from avatar.body.measurements import ISO_TOLERANCE_MM, SEXES, Measurements
from avatar.body.models import create as create_body
from avatar.completion import completion_report
from avatar.create import complete, fit_body
from avatar.types import Backend

log = logging.getLogger(__name__)

DEFAULT_GIVEN = (
    "stature_cm",
    "body_mass_kg",
    "bust_girth_cm",
    "waist_girth_cm",
    "hip_girth_cm",
    "sex",
    "age_years",
)
CONTEXT = ("sex", "age_years")


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV in vocabulary columns; rows get ids that cannot collide with ANSUR subject ids."""
    if not path.is_file():
        raise FileNotFoundError(f"csv: {path} does not exist")
    df = pd.read_csv(path)
    df.index = pd.Index([f"csv-{i}" for i in range(len(df))], name="subject")
    return df


def ansur_heldout(limit: int | None, seed: int = 0) -> pd.DataFrame:
    """Held-out ANSUR II subjects (never seen by the completion model), women and men in equal shares."""
    from avatar.completion.ansur import ansur_split

    _, heldout = ansur_split(seed=seed)
    if limit is None or limit >= len(heldout):
        return heldout
    per_sex = [heldout[heldout["sex"] == s] for s in ("female", "male")]
    take = [limit // 2, limit - limit // 2]
    parts = [p.sample(n=min(n, len(p)), random_state=seed) for p, n in zip(per_sex, take, strict=True)]
    return pd.concat(parts).sort_index()


def _check_columns(df: pd.DataFrame, given: Sequence[str]) -> None:
    missing = [c for c in given if c not in df.columns]
    if missing:
        raise ValueError(f"given: columns {missing} are not in the CSV (it has {list(df.columns)})")
    unknown = [c for c in given if c not in FITTABLE and c not in CONTEXT]
    if unknown:
        raise ValueError(f"given: unknown columns {unknown}; use vocabulary names, sex and age_years")
    for col in ("stature_cm", "body_mass_kg"):
        if col not in given:
            raise ValueError(f"given: {col} is required")


@dataclass(frozen=True)
class Subject:
    """One row as the production path sees it: the given measurements, sex and age."""

    measurements: Measurements
    truth: dict[str, float]


def subjects(df: pd.DataFrame, given: Sequence[str]) -> list[Subject]:
    """The rows of ``df`` as :class:`Subject` s (given columns only; ``truth`` keeps every
    vocabulary column the row holds, for scoring)."""
    _check_columns(df, given)
    out = []
    for _, row in df.iterrows():
        sex = str(row["sex"]) if "sex" in given and row.get("sex") in SEXES else "unspecified"
        age = float(row["age_years"]) if "age_years" in given and pd.notna(row.get("age_years")) else None
        values = {c: float(row[c]) for c in given if c in FITTABLE and pd.notna(row[c])}
        truth = {c: float(row[c]) for c in FITTABLE if c in row.index and pd.notna(row[c])}
        out.append(Subject(Measurements(values=values, sex=sex, age_years=age), truth))  # type: ignore[arg-type]
    return out


def evaluate_fitting(
    df: pd.DataFrame,
    given: Sequence[str] = DEFAULT_GIVEN,
    backend: Backend = "anny",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, float], dict[str, float], float, float]:
    """Run the production path (:func:`avatar.create.complete` then :func:`avatar.create.fit_body`)
    on every row; returns (fitting block, mass block, share of subjects whose achieved value lies
    inside its completed interval by measurement not given, seconds per avatar, setup seconds)."""
    rows = subjects(df, given)
    targets = [c for c in given if c in FITTABLE]
    setup_start = time.perf_counter()  # load every model once, outside the per-avatar timing
    for sex in sorted({r.measurements.sex for r in rows}):
        loops.template_loops(create_body(backend, sex), sex)
    if rows:
        complete(rows[0].measurements)
    setup = time.perf_counter() - setup_start
    errors: dict[str, list[float]] = {c: [] for c in targets}
    inside: dict[str, list[bool]] = {}
    seconds: list[float] = []
    for i, row in enumerate(rows):
        start = time.perf_counter()
        predicted = complete(row.measurements)
        fit = fit_body(row.measurements, backend, predicted)
        seconds.append(time.perf_counter() - start)
        for c, t in row.measurements.values.items():
            errors[c].append(abs(fit.achieved[c] - t))
        for c, interval in predicted.items():
            inside.setdefault(c, []).append(interval.contains(fit.achieved[c]))
        if progress:
            progress(i + 1, len(rows))
    fitting: dict[str, dict[str, float]] = {}
    mass: dict[str, float] = {}
    for c, errs in errors.items():
        e = np.asarray(errs)
        if not len(e):
            continue
        if c == "body_mass_kg":
            truth = np.asarray([r.measurements.values[c] for r in rows if c in r.measurements.values])
            rel = e / truth * 100.0
            mass = {
                "median_kg": round(float(np.median(e)), 3),
                "p95_kg": round(float(np.percentile(e, 95)), 3),
                "max_kg": round(float(e.max()), 3),
                "within_1pct_pct": round(float((rel <= 1.0).mean() * 100.0), 1),
            }
            continue
        fitting[c] = _error_block(e * 10.0, ISO_TOLERANCE_MM[c])
    in_interval = {c: round(float(np.mean(v)) * 100.0, 1) for c, v in sorted(inside.items())}
    return fitting, mass, in_interval, float(np.mean(seconds)) if seconds else 0.0, setup


def _error_block(mm: np.ndarray, tolerance_mm: float) -> dict[str, float]:
    """Median, p95 and max absolute error (mm) and the share within ``tolerance_mm``."""
    return {
        "median_mm": round(float(np.median(mm)), 2),
        "p95_mm": round(float(np.percentile(mm, 95)), 2),
        "max_mm": round(float(mm.max()), 2),
        "within_iso_pct": round(float((mm <= tolerance_mm).mean() * 100.0), 1),
    }


def evaluate(
    df: pd.DataFrame,
    given: Sequence[str] = DEFAULT_GIVEN,
    backend: Backend = "anny",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The whole report: ``n_subjects``, ``seconds_per_avatar``, ``setup_seconds``, ``fitting``,
    ``mass``, ``completion``."""
    fitting, mass, in_interval, seconds, setup = evaluate_fitting(df, given, backend, progress)
    completion = completion_report(list(given), ansur_rows=df)
    completion["achieved_in_interval_pct"] = in_interval
    return {
        "n_subjects": int(len(df)),
        "backend": backend,
        "given": list(given),
        "seconds_per_avatar": round(seconds, 3),
        "setup_seconds": round(setup, 2),
        "fitting": fitting,
        "mass": mass,
        "completion": completion,
    }


DEFINITION_FIT = ("stature_cm", "bust_girth_cm", "waist_girth_cm", "hip_girth_cm", "thigh_girth_cm",
                  "neck_girth_cm")
UNFITTED_LENGTHS = ("inside_leg_cm", "shoulder_width_cm", "arm_length_cm")


def evaluate_definitions(df: pd.DataFrame, backend: Backend = "anny") -> dict[str, dict[str, float]]:
    """How well the mesh's length and width definitions agree with ANSUR's: each subject is fitted
    on stature and its girths only (nothing completed, and not mass: volume × an assumed density,
    which a fit would meet by stretching limbs), then its inside leg, shoulder width and arm length
    are read off the mesh and compared with the measured ones.

    Returns ``{name: {bias_mm, median_mm, p95_mm, max_mm, within_iso_pct}}``. A definition that
    matches ANSUR's shows a small bias; the spread left is what stature and girths cannot tell
    about a body's proportions, which the full fit closes by fitting every length.
    """
    rows = subjects(df, ("sex", "age_years", "body_mass_kg", *DEFINITION_FIT))
    signed: dict[str, list[float]] = {n: [] for n in UNFITTED_LENGTHS}
    for row in rows:
        values = {k: v for k, v in row.measurements.values.items() if k in DEFINITION_FIT}
        fit = fit_body(dataclasses.replace(row.measurements, values=values), backend, {})
        for name in UNFITTED_LENGTHS:
            if name in row.truth:
                signed[name].append(fit.achieved[name] - row.truth[name])
    out = {}
    for name, errors in signed.items():
        mm = np.asarray(errors) * 10.0
        block = _error_block(np.abs(mm), ISO_TOLERANCE_MM[name])
        out[name] = {"bias_mm": round(float(mm.mean()), 1), **block}
    return out
