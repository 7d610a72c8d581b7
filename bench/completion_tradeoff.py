"""Why one waist predictor cannot serve ANSUR II and NHANES at once: ``python -m bench.completion_tradeoff``.

Given stature, mass, sex and age, soldiers and civilians have different waists. Two linear models (one
trained on the ANSUR II training split, one on the other NHANES cycle) are blended, ``alpha`` of the
ANSUR one; each blend is scored (MAE, mm) on the held-out NHANES cycle and on ANSUR's held-out subjects.
A blend good enough for civilians (at most the NHANES-trained line's MAE) is about 2 mm worse on
soldiers than one fitted to them, and the reverse.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from avatar.completion.ansur import ansur_split
from avatar.completion.nhanes import load_nhanes

log = logging.getLogger(__name__)
INPUTS = ["stature_cm", "body_mass_kg", "age_years", "waist_girth_cm"]
ALPHAS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def _design(df: pd.DataFrame) -> np.ndarray:
    s, m = df["stature_cm"].to_numpy(float), df["body_mass_kg"].to_numpy(float)
    male = (df["sex"] == "male").to_numpy(float)
    bmi = m / (s / 100) ** 2
    return np.c_[s, m, df["age_years"].to_numpy(float), bmi, male, male * s, male * m, male * bmi]


def _fit(df: pd.DataFrame) -> LinearRegression:
    d = df.dropna(subset=INPUTS)
    return LinearRegression().fit(_design(d), d["waist_girth_cm"].to_numpy(float))


def _mae_mm(ansur: LinearRegression, nhanes: LinearRegression, alpha: float, df: pd.DataFrame) -> float:
    d = df.dropna(subset=INPUTS)
    x = _design(d)
    blend = alpha * ansur.predict(x) + (1 - alpha) * nhanes.predict(x)
    return float(10 * np.mean(np.abs(blend - d["waist_girth_cm"].to_numpy(float))))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    train, heldout = ansur_split(seed=0)
    people = load_nhanes()
    on_ansur = _fit(train)
    cycles = sorted(people["cycle"].unique())
    for test_cycle in cycles:
        other = next(c for c in cycles if c != test_cycle)
        on_nhanes = _fit(people[people["cycle"] == other])
        test = people[people["cycle"] == test_cycle]
        log.info("NHANES %s (trained on %s): the NHANES-trained line's MAE is %.1f mm", test_cycle, other,
                 _mae_mm(on_ansur, on_nhanes, 0.0, test))
        for alpha in ALPHAS:
            log.info("  alpha %.1f: NHANES %.1f mm, ANSUR held out %.1f mm", alpha,
                     _mae_mm(on_ansur, on_nhanes, alpha, test), _mae_mm(on_ansur, on_nhanes, alpha, heldout))


if __name__ == "__main__":
    main()
