"""Shopper bodies resampled from ANSUR II with noise, and what shoppers say about them.

Why ANSUR II: its 6,068 measured adults carry the real correlations between stature, mass and the
girths a garment must fit, which invented distributions would not. Rows are drawn with replacement and
jittered (a shared girth factor plus a little per-measurement noise) so no simulated body is a survey
subject. The CSVs are read directly (mm, tenths of kg); ``sizing`` does not import ``avatar``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

#: the girths size charts and fit use, in this order everywhere (cm; ``bust_girth`` is the chest of men)
MEASUREMENTS: Final = ("bust_girth", "waist_girth", "hip_girth")
#: ANSUR II column → (our name, factor to cm / kg / years)
ANSUR_COLUMNS: Final = {
    "stature": ("stature_cm", 0.1),
    "weightkg": ("body_mass_kg", 0.1),
    "chestcircumference": ("bust_girth", 0.1),
    "waistcircumference": ("waist_girth", 0.1),
    "buttockcircumference": ("hip_girth", 0.1),
    "crotchheight": ("inside_leg_cm", 0.1),
    "Age": ("age_years", 1.0),
}
ANSUR_FILES: Final = {True: "ANSUR_II_FEMALE_Public.csv", False: "ANSUR_II_MALE_Public.csv"}


@dataclass(frozen=True)
class Bodies:
    """Measured bodies, one row per person (cm, kg, years)."""

    female: np.ndarray
    stature_cm: np.ndarray
    body_mass_kg: np.ndarray
    girths: np.ndarray  # (n, 3) in MEASUREMENTS order
    inside_leg_cm: np.ndarray
    age_years: np.ndarray


@lru_cache(maxsize=4)
def load_ansur(ansur_dir: Path) -> dict[bool, pd.DataFrame]:
    """ANSUR II women (``True``) and men in our names and units; read once per folder."""
    out: dict[bool, pd.DataFrame] = {}
    for female, name in ANSUR_FILES.items():
        path = Path(ansur_dir) / name
        if not path.is_file():
            raise FileNotFoundError(f"ANSUR II file {path} not found (expected in --ansur-dir {ansur_dir})")
        raw = pd.read_csv(path, encoding="latin-1", usecols=list(ANSUR_COLUMNS))
        out[female] = pd.DataFrame({new: raw[old] * k for old, (new, k) in ANSUR_COLUMNS.items()})
    return out


def resample(n: int, female_share: float, rng: np.random.Generator, ansur_dir: Path) -> Bodies:
    """``n`` bodies: survey rows drawn with replacement, scaled by a shared girth factor (sd 5 %) and a
    per-girth jitter (sd 2 %), mass by the girth factor squared; every value stays within 5 % of the
    survey's range for that sex, so no body is one the survey could not have held."""
    ansur = load_ansur(ansur_dir)
    female = rng.random(n) < female_share
    names = list(ansur[True].columns)
    rows = np.empty((n, len(names)))
    low, high = np.empty_like(rows), np.empty_like(rows)
    for sex in (True, False):
        table = ansur[sex].to_numpy()
        idx = np.flatnonzero(female == sex)
        rows[idx] = table[rng.integers(0, len(table), idx.size)]
        low[idx], high[idx] = table.min(axis=0) * 0.95, table.max(axis=0) * 1.05
    girth = [names.index(m) for m in MEASUREMENTS]
    at = {name: names.index(name) for name in ("stature_cm", "body_mass_kg", "inside_leg_cm", "age_years")}
    scale = np.exp(rng.normal(0.0, 0.05, n))
    tall = np.exp(rng.normal(0.0, 0.01, n))
    rows[:, girth] *= scale[:, None] * np.exp(rng.normal(0.0, 0.02, (n, len(girth))))
    rows[:, at["body_mass_kg"]] *= scale**2 * np.exp(rng.normal(0.0, 0.03, n))
    rows[:, at["stature_cm"]] *= tall
    rows[:, at["inside_leg_cm"]] *= tall
    rows[:, at["age_years"]] += rng.uniform(-3.0, 12.0, n)
    rows = np.clip(rows, low, high)
    return Bodies(
        female=female,
        stature_cm=rows[:, at["stature_cm"]],
        body_mass_kg=rows[:, at["body_mass_kg"]],
        girths=rows[:, girth],
        inside_leg_cm=rows[:, at["inside_leg_cm"]],
        age_years=np.clip(rows[:, at["age_years"]], 18.0, 80.0),
    )


def proportions(ansur_dir: Path) -> dict[tuple[bool, int], np.ndarray]:
    """How each girth follows a key girth in ANSUR II: ``(female, key index) → (3, 2)`` rows of
    (slope, intercept), so a brand's chart grades its other girths the way real bodies do."""
    out: dict[tuple[bool, int], np.ndarray] = {}
    for female, table in load_ansur(ansur_dir).items():
        g = table[list(MEASUREMENTS)].to_numpy()
        for key in range(len(MEASUREMENTS)):
            out[(female, key)] = np.array(
                [np.polyfit(g[:, key], g[:, m], 1) for m in range(len(MEASUREMENTS))]
            )
    return out
