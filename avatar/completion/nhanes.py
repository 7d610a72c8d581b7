"""NHANES 2013–2014 and 2015–2016 (US civilians, all ages and BMIs) in the fitroom vocabulary.

ANSUR II describes young, fit soldiers; NHANES describes the shoppers' population. It measures
stature, mass and waist but no other girth, so it trains and tests the waist part of completion.

==========  ==============  ==========================================================
NHANES      vocabulary      note
==========  ==============  ==========================================================
BMXHT       stature_cm      cm, standing
BMXWT       body_mass_kg    kg
BMXWAIST    waist_girth_cm  cm, at the top of the iliac crest (ANSUR: at the navel)
RIAGENDR    sex             1 male, 2 female
RIDAGEYR    age_years       whole years, 80 means "80 and over"
cycle       cycle           ``2013-2014`` or ``2015-2016``
==========  ==============  ==========================================================

Pregnant women (``RIDEXPRG == 1``) are dropped: their mass and waist are not their usual body.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from avatar import paths

log = logging.getLogger(__name__)

FILE = "nhanes_adults_2013_2016.csv"
CYCLES = ("2013-2014", "2015-2016")
COLUMNS = {
    "BMXHT": "stature_cm",
    "BMXWT": "body_mass_kg",
    "BMXWAIST": "waist_girth_cm",
    "RIDAGEYR": "age_years",
}
SEX_CODES = {1: "male", 2: "female"}
PREGNANT = 1


def nhanes_path(data_dir: Path | None = None) -> Path:
    """The shipped CSV (``data/nhanes/nhanes_adults_2013_2016.csv`` by default)."""
    return (data_dir or paths.data_dir()) / "nhanes" / FILE


def load_nhanes(data_dir: Path | None = None) -> pd.DataFrame:
    """Adults of both cycles, pregnant women dropped; index ``N-<SEQN>`` (unique across cycles)."""
    path = nhanes_path(data_dir)
    if not path.is_file():
        raise FileNotFoundError(f"NHANES file not found: {path} (see data/nhanes/PROVENANCE.md)")
    raw = pd.read_csv(path)
    missing = [c for c in (*COLUMNS, "RIAGENDR", "RIDEXPRG", "SEQN", "cycle") if c not in raw.columns]
    if missing:
        raise ValueError(f"{path} lacks required columns: {missing}")
    raw = raw[raw["RIDEXPRG"] != PREGNANT]
    out = raw[list(COLUMNS)].rename(columns=COLUMNS).astype(float)
    out["sex"] = raw["RIAGENDR"].map(SEX_CODES)
    out["cycle"] = raw["cycle"]
    if out["sex"].isna().any() or not set(out["cycle"]) <= set(CYCLES):
        raise ValueError(f"{path}: RIAGENDR must be 1 or 2 and cycle one of {CYCLES}")
    out.index = pd.Index([f"N-{s}" for s in raw["SEQN"]], name="subject_id")
    out = out.dropna(subset=list(COLUMNS.values()))
    log.info("loaded %d NHANES adults from %s", len(out), path)
    return out


def nhanes_cycle(cycle: str, data_dir: Path | None = None) -> pd.DataFrame:
    """The adults of one cycle."""
    if cycle not in CYCLES:
        raise ValueError(f"cycle must be one of {CYCLES}, got {cycle!r}")
    df = load_nhanes(data_dir)
    return df[df["cycle"] == cycle]
