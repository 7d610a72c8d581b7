"""How well completion holds, per population: ANSUR II held out and NHANES cycle by cycle.

Every figure is on people the scored model never saw: the ANSUR held-out split, and each NHANES
cycle with a model whose general-population core was fitted on the *other* cycle. Each figure
stands next to two linear regressions on the same inputs, one fitted on ANSUR and one on the
evaluated population, and next to the ANSUR-only model (what completion was before NHANES).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import StratifiedKFold

from avatar.completion.ansur import ansur_split
from avatar.completion.model import SEXES, CompletionModel
from avatar.completion.nhanes import CYCLES, load_nhanes
from avatar.completion.store import CARD, load_default, model_dir, train_default

log = logging.getLogger(__name__)

EVALUATE_COMMAND = "python -m avatar.completion --evaluate"
BASIC = ("stature_cm", "body_mass_kg", "sex", "age_years")
NHANES_INPUTS = frozenset(BASIC)
BMI_BANDS = (("<25", -math.inf, 25.0), ("25-30", 25.0, 30.0), (">=30", 30.0, math.inf))
AGE_BANDS = (("18-39", -math.inf, 40.0), ("40-59", 40.0, 60.0), ("60+", 60.0, math.inf))
# Issue targets, given stature, mass, sex and age: ANSUR held-out MAE (mm) of the model before NHANES,
# the 80 % interval's coverage band, and "clearly below" the ANSUR-trained line: at least 5 % lower.
ANSUR_TODAY_MAE_MM = {"waist_girth_cm": 32.7, "hip_girth_cm": 21.1}
COVERAGE_PCT = (75.0, 85.0)
CLEARLY_BELOW = 0.95
GIVEN_SETS: dict[str, tuple[str, ...]] = {
    "stature, mass, sex, age": BASIC,
    "stature, mass, sex, bust, waist, hip": (
        "stature_cm",
        "body_mass_kg",
        "sex",
        "bust_girth_cm",
        "waist_girth_cm",
        "hip_girth_cm",
    ),
    "stature, mass only": ("stature_cm", "body_mass_kg"),
}


def _design(df: pd.DataFrame, given_cols: Sequence[str]) -> pd.DataFrame:
    """The linear baselines' inputs: given numbers as they are, sex as a 0/1 male indicator."""
    cols = {c: df[c].astype(float) for c in given_cols if c != "sex"}
    if "sex" in given_cols:
        cols["male"] = (df["sex"] == "male").astype(float)
    return pd.DataFrame(cols, index=df.index)


def _groups(df: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Row masks by sex, BMI band and age band (a grouping is left out if its column is absent)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    if "sex" in df.columns:
        out["by_sex"] = {s: (df["sex"] == s).to_numpy() for s in SEXES}
    bmi = (df["body_mass_kg"] / (df["stature_cm"] / 100.0) ** 2).to_numpy(float)
    out["by_bmi"] = {label: (bmi >= lo) & (bmi < hi) for label, lo, hi in BMI_BANDS}
    if "age_years" in df.columns:
        age = df["age_years"].to_numpy(float)
        out["by_age"] = {label: (age >= lo) & (age < hi) for label, lo, hi in AGE_BANDS}
    return out


def _cell(err: np.ndarray, inside: np.ndarray, baselines: Mapping[str, np.ndarray], mask: np.ndarray) -> dict:
    """MAE, p95 and coverage of the rows in ``mask``, with each baseline's MAE on the same rows."""
    n = int(mask.sum())
    if n == 0:
        return {"n": 0}
    cell: dict[str, float | int] = {
        "n": n,
        "mae_mm": round(float(err[mask].mean()), 1),
        "p95_mm": round(float(np.percentile(err[mask], 95)), 1),
        "coverage_pct": round(float(inside[mask].mean() * 100.0), 1),
    }
    for key, e in baselines.items():
        cell[f"{key}_mae_mm"] = round(float(e[mask].mean()), 1)
    return cell


def score_dataset(
    model: CompletionModel,
    test: pd.DataFrame,
    given: Sequence[str],
    linear_train: Mapping[str, pd.DataFrame],
    reference: CompletionModel | None = None,
) -> dict[str, dict[str, Any]]:
    """Scores of ``model`` on ``test`` for every measurement not given that ``test`` holds.

    Returns ``{target: {"all": cell, "by_sex": {...}, "by_bmi": {...}, "by_age": {...}}}``; a cell
    has ``n``, ``mae_mm``, ``p95_mm``, ``coverage_pct`` (true value inside the interval) and
    ``<key>_mae_mm`` for a linear regression fitted on each ``linear_train[key]`` and, if given, for
    ``reference`` (as ``ansur_only``). Rows without a true value are left out of that target.
    """
    cols = [c for c in given if c == "sex" or c in model.variables_]  # underbust is unusable
    for col in cols:
        if col not in test.columns:
            raise ValueError(f"given column {col!r} is not in the evaluation frame")
        if test[col].isna().any():
            raise ValueError(f"given column {col!r} has {int(test[col].isna().sum())} missing values")
    preds = model.predict_frame(test, cols)
    ref_preds = reference.predict_frame(test, cols) if reference is not None else {}
    groups = _groups(test)
    x_test = _design(test, cols)
    out: dict[str, dict[str, Any]] = {}
    for name, p in preds.items():
        if name not in test.columns or test[name].isna().all():
            continue  # no truth to compare with
        known = test[name].notna().to_numpy()
        truth = test[name].to_numpy(float)
        err = np.abs(p["mean"].to_numpy() - truth) * 10.0
        inside = (truth >= p["lo"].to_numpy()) & (truth <= p["hi"].to_numpy())
        baselines = {}
        for key, train in linear_train.items():
            rows = train.dropna(subset=[*[c for c in cols if c != "sex"], name])
            line = LinearRegression().fit(_design(rows, cols), rows[name])
            baselines[f"linear_{key}"] = np.abs(line.predict(x_test) - truth) * 10.0
        if name in ref_preds:
            baselines["ansur_only"] = np.abs(ref_preds[name]["mean"].to_numpy() - truth) * 10.0
        block: dict[str, Any] = {"all": _cell(err, inside, baselines, known)}
        for group, masks in groups.items():
            block[group] = {label: _cell(err, inside, baselines, known & m) for label, m in masks.items()}
        out[name] = block
    return out


def completion_report(
    given: Sequence[str],
    ansur_rows: pd.DataFrame | None = None,
    models_dir: Path | None = None,
    data_dir: Path | None = None,
) -> dict[str, Any]:
    """The ``completion`` block of ``fitroom avatar evaluate``: scores per dataset, given ``given``.

    ``ansur_heldout`` scores the default model on ``ansur_rows`` (default: the whole held-out
    split; rows of the training split are refused). ``nhanes_<cycle>`` scores, for each NHANES
    cycle, a model whose core was fitted on the other cycle, given the inputs NHANES has among
    ``given``; it is left out when waist is given (NHANES measures no other girth).
    """
    train, heldout = ansur_split(seed=0, data_dir=data_dir)
    rows = heldout if ansur_rows is None else ansur_rows
    overlap = train.index.intersection(rows.index)
    if len(overlap):
        raise ValueError(f"ansur_rows shares {len(overlap)} subjects with the training split")
    ansur_only = CompletionModel().fit(train)
    model = load_default(models_dir, data_dir)
    datasets: dict[str, Any] = {
        "ansur_heldout": {
            "n": int(len(rows)),
            "given": list(given),
            "model": "default (ANSUR II train split + NHANES 2013-2016)",
            "measurements": score_dataset(
                model, rows, given, {"ansur": train, "same_population": train}, ansur_only
            ),
        }
    }
    if "waist_girth_cm" not in given:
        nhanes = load_nhanes(data_dir)
        nh_given = [c for c in given if c in NHANES_INPUTS]
        for cycle in CYCLES:
            test, other = nhanes[nhanes["cycle"] == cycle], nhanes[nhanes["cycle"] != cycle]
            cross = CompletionModel().fit(train, population=other)
            datasets[f"nhanes_{cycle}"] = {
                "n": int(len(test)),
                "given": nh_given,
                "model": f"ANSUR II train split + NHANES {other['cycle'].iloc[0]}",
                "measurements": score_dataset(
                    cross, test, nh_given, {"ansur": train, "same_population": other}, ansur_only
                ),
            }
    return {"quantiles": list(model.quantiles), "datasets": datasets}


def check_targets(report: Mapping[str, Any]) -> dict[str, Any]:
    """The completion targets (NHANES waist against both linear baselines, 75–85 % coverage per BMI
    band, ANSUR no worse than the ANSUR-only model), read from a :func:`completion_report` given
    stature, mass, sex and age."""
    datasets = report["datasets"]
    out: dict[str, Any] = {"nhanes_waist": {}, "bmi_band_coverage": {}, "ansur": {}}
    for key, block in datasets.items():
        if key.startswith("nhanes_"):
            c = block["measurements"]["waist_girth_cm"]["all"]
            out["nhanes_waist"][key] = {
                "mae_mm": c["mae_mm"],
                "linear_same_population_mae_mm": c["linear_same_population_mae_mm"],
                "linear_ansur_mae_mm": c["linear_ansur_mae_mm"],
                "ansur_only_mae_mm": c["ansur_only_mae_mm"],
                "met": c["mae_mm"] <= c["linear_same_population_mae_mm"]
                and c["mae_mm"] <= CLEARLY_BELOW * c["linear_ansur_mae_mm"],
            }
        coverages = [
            cell["coverage_pct"]
            for m in block["measurements"].values()
            for cell in m["by_bmi"].values()
            if cell["n"]
        ]
        out["bmi_band_coverage"][key] = {
            "min_pct": min(coverages),
            "max_pct": max(coverages),
            "met": COVERAGE_PCT[0] <= min(coverages) and max(coverages) <= COVERAGE_PCT[1],
        }
    for name, today in ANSUR_TODAY_MAE_MM.items():
        c = datasets["ansur_heldout"]["measurements"][name]["all"]
        out["ansur"][name] = {"mae_mm": c["mae_mm"], "today_mm": today, "met": c["mae_mm"] <= today}
    return out


def cv_bmi_coverage(train: pd.DataFrame, given: Sequence[str], k: int = 5, seed: int = 0) -> dict[str, Any]:
    """Interval coverage (%) per BMI band by k-fold cross-validation over ANSUR subjects.

    A second look at calibration besides the one held-out split: each fold refits the ANSUR part
    (the girths NHANES lacks do not depend on where the core comes from) and scores the left-out fold.
    """
    inside: dict[str, dict[str, list[bool]]] = {}
    for fit_idx, test_idx in StratifiedKFold(k, shuffle=True, random_state=seed).split(train, train["sex"]):
        fold = train.iloc[test_idx]
        masks = _groups(fold)["by_bmi"]
        for name, p in CompletionModel().fit(train.iloc[fit_idx]).predict_frame(fold, given).items():
            hit = ((fold[name] >= p["lo"]) & (fold[name] <= p["hi"])).to_numpy()
            for band, mask in masks.items():
                inside.setdefault(name, {}).setdefault(band, []).extend(hit[mask])
    return {
        name: {
            band: {"n": len(v), "coverage_pct": round(float(np.mean(v)) * 100.0, 1)}
            for band, v in bands.items()
        }
        for name, bands in inside.items()
    }


def evaluation_report(models_dir: Path | None = None, data_dir: Path | None = None) -> dict[str, Any]:
    """:func:`completion_report` for each input set of :data:`GIVEN_SETS`, the targets, and CV coverage."""
    sets = {}
    for label, cols in GIVEN_SETS.items():
        log.info("evaluating completion given %s", label)
        sets[label] = completion_report(cols, models_dir=models_dir, data_dir=data_dir)
    first = next(iter(sets.values()))
    train, _ = ansur_split(seed=0, data_dir=data_dir)
    return {
        "quantiles": first["quantiles"],
        "sets": sets,
        "targets": check_targets(first),
        "cv5_bmi_coverage": cv_bmi_coverage(train, BASIC),
    }


def _fmt(cell: Mapping[str, Any], key: str) -> str:
    return f"{cell[key]:.1f}" if key in cell else "–"


def write_model_card(report: Mapping[str, Any], path: Path) -> None:
    """A deterministic card: same data and code give the same bytes, so git shows real changes only."""
    lo_q, hi_q = report["quantiles"]
    t = report["targets"]
    lines = [
        "# Measurement completion model (ANSUR II + NHANES)",
        "",
        "Predicts missing body measurements (cm) from any subset of given ones; stature and body mass",
        "are required, sex and age optional. Code and method: `avatar/completion/` and `docs/completion.md`.",
        "",
        "- **Model:** per sex, a Gaussian mixture (components by BIC) over log(stature, mass, waist) and age",
        "  fitted on NHANES 2013-2016 adults (pregnant women dropped); every other girth and length from",
        "  ANSUR II, regressed on those four with a BMI-dependent offset and spread. Prediction = the",
        "  mixture conditioned on the given values (exact for any subset). Unknown sex: both sexes'",
        "  components, prior 50/50. Ages are clamped to 18-80, BMI terms to ANSUR's BMI range.",
        f"- **Interval:** the {lo_q:.0%}-{hi_q:.0%} quantiles of the conditional mixture.",
        "- **Data:** ANSUR II `ansur_split(seed=0)` train split (4,854 soldiers; 1,214 held out) and",
        "  NHANES 2013-2014 and 2015-2016 (10,809 civilians). NHANES waist is at the iliac crest, ANSUR's",
        "  at the navel; the model treats them as one measurement. NHANES has no hip, bust, thigh, etc.",
        "- **Baselines:** linear regressions on the same inputs (sex as a 0/1 column), one fitted on ANSUR",
        "  train, one on the evaluated population (for NHANES: the other cycle); and the ANSUR-only model.",
        "",
        f"Figures from `{EVALUATE_COMMAND}`. Errors are |predicted - true| in mm; coverage is the",
        f"share of true values inside the {lo_q:.0%}-{hi_q:.0%} interval (nominal {hi_q - lo_q:.0%}).",
        "NHANES figures are cross-cycle: each cycle is scored by a model whose core saw only the other.",
        "",
        "## Targets (given stature, mass, sex, age)",
        "",
        "| target | figure | met |",
        "|---|---|---|",
    ]
    for key, w in t["nhanes_waist"].items():
        lines.append(
            f"| {key} waist MAE ≤ linear (same population) and ≤ {CLEARLY_BELOW:g} × linear (ANSUR) "
            f"| {w['mae_mm']:.1f} vs {w['linear_same_population_mae_mm']:.1f} / "
            f"{w['linear_ansur_mae_mm']:.1f} "
            f"(ANSUR-only model {w['ansur_only_mae_mm']:.1f}) | {'yes' if w['met'] else 'no'} |"
        )
    for key, c in t["bmi_band_coverage"].items():
        lines.append(
            f"| {key}: 80 % interval coverage in {COVERAGE_PCT[0]:g}-{COVERAGE_PCT[1]:g} % in every BMI band "
            f"| {c['min_pct']:.1f}-{c['max_pct']:.1f} % | {'yes' if c['met'] else 'no'} |"
        )
    for name, a in t["ansur"].items():
        lines.append(
            f"| ansur_heldout {name} MAE ≤ {a['today_mm']:.1f} mm (before NHANES) | {a['mae_mm']:.1f} "
            f"| {'yes' if a['met'] else 'no'} |"
        )
    if report.get("cv5_bmi_coverage"):
        bands = [label for label, _, _ in BMI_BANDS]
        lines += [
            "",
            "## Coverage % by BMI band, 5-fold CV over the ANSUR train split (given stature, mass, sex, age)",
            "",
            f"| measurement | {' | '.join(bands)} |",
            f"|---|{'---:|' * len(bands)}",
        ]
        for name, cells in report["cv5_bmi_coverage"].items():
            figures = " | ".join(f"{cells[b]['coverage_pct']:.1f} (n {cells[b]['n']})" for b in bands)
            lines.append(f"| {name} | {figures} |")
    for label, rep in report["sets"].items():
        for key, block in rep["datasets"].items():
            lines += [
                "",
                f"## Given {label} — {key} ({block['n']} people; model: {block['model']})",
                "",
                "| measurement | group | n | MAE mm | p95 mm | coverage % "
                "| linear ANSUR | linear same pop. | ANSUR-only |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for name, m in block["measurements"].items():
                cells = [("all", m["all"])]
                if name in ("waist_girth_cm", "hip_girth_cm") and label == next(iter(report["sets"])):
                    cells += [
                        (f"{g[3:]} {b}", c) for g in ("by_sex", "by_bmi", "by_age") for b, c in m[g].items()
                    ]
                for group, c in cells:
                    lines.append(
                        f"| {name} | {group} | {c['n']} | {_fmt(c, 'mae_mm')} | {_fmt(c, 'p95_mm')} "
                        f"| {_fmt(c, 'coverage_pct')} | {_fmt(c, 'linear_ansur_mae_mm')} "
                        f"| {_fmt(c, 'linear_same_population_mae_mm')} | {_fmt(c, 'ansur_only_mae_mm')} |"
                    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m avatar.completion --train | --evaluate``."""
    parser = argparse.ArgumentParser(prog="python -m avatar.completion", description=main.__doc__)
    parser.add_argument("--train", action="store_true", help="(re)train the default model")
    parser.add_argument("--evaluate", action="store_true", help="evaluate and rewrite the model card")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.train:
        train_default()
    if args.evaluate:
        report = evaluation_report()
        write_model_card(report, model_dir() / CARD)
        log.info("model card written to %s", model_dir() / CARD)
        sys.stdout.write(json.dumps(report) + "\n")  # the command's result, as one JSON line
    if not (args.train or args.evaluate):
        parser.error("give --train and/or --evaluate")
