"""Accuracy of the avatar pipeline on real people: how well fitted bodies hit given measurements,
and how well the completion model predicts the ones not given.

``fitting``: for each given girth or length, |achieved − target| over subjects (median, p95, max in
mm) and the share within the tolerance of :data:`avatar.body.measurements.ISO_TOLERANCE_MM`.
``completion``: for each measurement not given, the completion model's error against the truth
next to a linear-regression baseline on the same inputs (:func:`avatar.completion.model.evaluate_completion`).
``seconds_per_avatar`` is the wall time of completion + fit per subject (no file export), once the
models are loaded; ``setup_seconds`` is that one-off loading (body model, girth loops, completion
model), which a running service pays once per process, not per avatar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from avatar.body import loops
from avatar.body.fitting import FITTABLE, BodyFitter
from avatar.body.measurements import ISO_TOLERANCE_MM, SEXES
from avatar.body.models import create as create_body
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


def evaluate_fitting(
    df: pd.DataFrame,
    given: Sequence[str] = DEFAULT_GIVEN,
    backend: Backend = "anny",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, float], float, float]:
    """Fit one body per row; returns (fitting block, mass block, seconds per avatar, setup seconds)."""
    from avatar.body.measurements import Measurements
    from avatar.create import complete

    _check_columns(df, given)
    targets = [c for c in given if c in FITTABLE]
    errors: dict[str, list[float]] = {c: [] for c in targets}
    seconds: list[float] = []
    subjects = []
    for _, row in df.iterrows():
        sex = str(row["sex"]) if "sex" in given and row.get("sex") in SEXES else "unspecified"
        age = float(row["age_years"]) if "age_years" in given and pd.notna(row.get("age_years")) else None
        values = {c: float(row[c]) for c in targets if pd.notna(row[c])}
        subjects.append((values, sex, age))
    setup_start = time.perf_counter()  # load every model once, outside the per-avatar timing
    for sex in sorted({s for _, s, _ in subjects}):
        loops.template_loops(create_body(backend, sex), sex)  # type: ignore[arg-type]
    if subjects:
        complete(Measurements(values=subjects[0][0], sex=subjects[0][1], age_years=subjects[0][2]))  # type: ignore[arg-type]
    setup = time.perf_counter() - setup_start
    for i, (values, sex, age) in enumerate(subjects):
        start = time.perf_counter()
        measurements = Measurements(values=values, sex=sex, age_years=age)  # type: ignore[arg-type]
        predicted = complete(measurements)
        body = create_body(backend, measurements.sex)
        template = loops.template_loops(body, measurements.sex)
        fit = BodyFitter(body).fit(template, values, predicted, sex=measurements.sex, age_years=age)
        seconds.append(time.perf_counter() - start)
        for c, t in values.items():
            errors[c].append(abs(fit.achieved[c] - t))
        if progress:
            progress(i + 1, len(df))
    fitting: dict[str, dict[str, float]] = {}
    mass: dict[str, float] = {}
    for c, errs in errors.items():
        e = np.asarray(errs)
        if c == "body_mass_kg":
            rel = e / df.loc[:, c].to_numpy(float)[: len(e)] * 100.0
            mass = {
                "median_kg": round(float(np.median(e)), 3),
                "p95_kg": round(float(np.percentile(e, 95)), 3),
                "max_kg": round(float(e.max()), 3),
                "within_1pct_pct": round(float((rel <= 1.0).mean() * 100.0), 1),
            }
            continue
        mm = e * 10.0
        fitting[c] = {
            "median_mm": round(float(np.median(mm)), 2),
            "p95_mm": round(float(np.percentile(mm, 95)), 2),
            "max_mm": round(float(mm.max()), 2),
            "within_iso_pct": round(float((mm <= ISO_TOLERANCE_MM[c]).mean() * 100.0), 1),
        }
    return fitting, mass, float(np.mean(seconds)) if seconds else 0.0, setup


def evaluate(
    df: pd.DataFrame,
    given: Sequence[str] = DEFAULT_GIVEN,
    backend: Backend = "anny",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The whole report: ``n_subjects``, ``seconds_per_avatar``, ``setup_seconds``, ``fitting``,
    ``mass``, ``completion``."""
    fitting, mass, seconds, setup = evaluate_fitting(df, given, backend, progress)
    completion: dict[str, Any] = {}
    try:
        from avatar.completion.model import evaluate_completion

        completion = evaluate_completion(list(given), df)
    except ImportError:
        log.warning("avatar.completion.model is unavailable: no completion block")
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
