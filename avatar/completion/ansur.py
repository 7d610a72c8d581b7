"""ANSUR II (US Army 2012 anthropometric survey) read into the fitroom measurement vocabulary.

ANSUR stores lengths in mm and ``weightkg`` in tenths of a kilogram; everything leaving this module
is in cm and kg, under the ISO 8559-1 names of the vocabulary, so no other module needs to know
ANSUR's column names or units.

Column mapping (the one table; :data:`ANSUR_COLUMNS` is its code form):

==========================  =====================  ==========  ==========================================
ANSUR II column             vocabulary name        conversion  where ANSUR measures it
==========================  =====================  ==========  ==========================================
stature                     stature_cm             mm / 10     floor to top of head, standing
weightkg                    body_mass_kg           / 10        tenths of a kg (855 = 85.5 kg)
chestcircumference          bust_girth_cm          mm / 10     horizontal, at the bust points (nipples)
(none)                      underbust_girth_cm     unmapped    ANSUR II has no under-bust girth
waistcircumference          waist_girth_cm         mm / 10     horizontal, at the omphalion (navel)
buttockcircumference        hip_girth_cm           mm / 10     horizontal, at maximum buttock protrusion
crotchheight                inside_leg_cm          mm / 10     floor to the crotch, standing
biacromialbreadth           shoulder_width_cm      mm / 10     straight line, acromion to acromion
sleeveoutseam               arm_length_cm          mm / 10     acromion over the elbow to the wrist
neckcircumferencebase       neck_girth_cm          mm / 10     around the base of the neck (collar line)
thighcircumference          thigh_girth_cm         mm / 10     horizontal, just below the gluteal furrow
Gender                      sex                    lower-case  "Male"/"Female" -> "male"/"female"
Age                         age_years              none        years at measurement
==========================  =====================  ==========  ==========================================

Choices worth knowing:

- ``arm_length_cm`` uses ``sleeveoutseam`` because ISO 8559-1 arm length is one length from the
  acromion over the elbow to the wrist, which is what a sleeve outseam is; the alternative sum
  ``acromionradialelength + radialestylionlength`` adds two landmark-to-landmark segments and runs
  about 1 cm longer (mean 9.7 mm over all 6,068 subjects).
- ``waist_girth_cm`` is ANSUR's navel-level waist, not the natural (narrowest) waist.
- ``neck_girth_cm`` is taken at the neck base (``neckcircumferencebase``), the collar line garments use;
  ANSUR's ``neckcircumference`` (below the larynx) is about 4 cm smaller (mean 38 mm) and is not used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from avatar import paths

log = logging.getLogger(__name__)

FILES = {"male": "ANSUR_II_MALE_Public.csv", "female": "ANSUR_II_FEMALE_Public.csv"}
ID_COLUMNS = ("subjectid", "SubjectId")  # the male file says subjectid, the female file SubjectId
HELDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class ColumnMap:
    """One ANSUR column and how to turn it into a vocabulary value (``value * scale``)."""

    ansur: str
    name: str
    scale: float


ANSUR_COLUMNS: tuple[ColumnMap, ...] = (
    ColumnMap("stature", "stature_cm", 0.1),
    ColumnMap("weightkg", "body_mass_kg", 0.1),
    ColumnMap("chestcircumference", "bust_girth_cm", 0.1),
    ColumnMap("waistcircumference", "waist_girth_cm", 0.1),
    ColumnMap("buttockcircumference", "hip_girth_cm", 0.1),
    ColumnMap("crotchheight", "inside_leg_cm", 0.1),
    ColumnMap("biacromialbreadth", "shoulder_width_cm", 0.1),
    ColumnMap("sleeveoutseam", "arm_length_cm", 0.1),
    ColumnMap("neckcircumferencebase", "neck_girth_cm", 0.1),
    ColumnMap("thighcircumference", "thigh_girth_cm", 0.1),
)
UNMAPPED = ("underbust_girth_cm",)
MEASUREMENTS: tuple[str, ...] = tuple(c.name for c in ANSUR_COLUMNS)
COLUMNS: tuple[str, ...] = (*MEASUREMENTS, "sex", "age_years")


def ansur_dir(data_dir: Path | None = None) -> Path:
    """The folder holding the two ANSUR II CSVs (``data/ansur2`` by default)."""
    return (data_dir or paths.data_dir()) / "ansur2"


def to_vocabulary(raw: pd.DataFrame, sex: str) -> pd.DataFrame:
    """Convert one raw ANSUR II frame (mm, tenths of kg) to vocabulary columns in cm and kg.

    The index becomes ``subject_id`` (``"M-<id>"`` / ``"F-<id>"``), unique across both files.
    """
    id_col = next((c for c in ID_COLUMNS if c in raw.columns), None)
    if id_col is None:
        raise ValueError(f"ANSUR frame has no subject id column; expected one of {ID_COLUMNS}")
    missing = [c.ansur for c in ANSUR_COLUMNS if c.ansur not in raw.columns]
    missing += [c for c in ("Gender", "Age") if c not in raw.columns]
    if missing:
        raise ValueError(f"ANSUR frame lacks required columns: {missing}")
    out = pd.DataFrame({c.name: raw[c.ansur].astype(float) * c.scale for c in ANSUR_COLUMNS})
    out["sex"] = raw["Gender"].str.strip().str.lower()
    out["age_years"] = raw["Age"].astype(float)
    bad_sex = set(out["sex"].unique()) - {sex}
    if bad_sex:
        raise ValueError(f"Gender column holds {sorted(bad_sex)} in the {sex} file; expected only {sex!r}")
    out.index = pd.Index([f"{sex[0].upper()}-{i}" for i in raw[id_col]], name="subject_id")
    return out


def load_ansur(data_dir: Path | None = None) -> pd.DataFrame:
    """Both ANSUR II files, women then men, in vocabulary columns (cm, kg); 6,068 subjects."""
    folder = ansur_dir(data_dir)
    frames = []
    for sex in ("female", "male"):
        path = folder / FILES[sex]
        if not path.is_file():
            raise FileNotFoundError(f"ANSUR II file not found: {path} (see data/ansur2/PROVENANCE.md)")
        raw = pd.read_csv(path, encoding="latin-1")
        frames.append(to_vocabulary(raw, sex))
    df = pd.concat(frames)
    if not df.index.is_unique:
        raise ValueError("ANSUR subject ids are not unique across the two files")
    log.info("loaded %d ANSUR II subjects from %s", len(df), folder)
    return df


def ansur_split(seed: int = 0, data_dir: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fixed subject split: 80 % train, 20 % held out, stratified by sex.

    Every model is trained on the first frame only; every accuracy figure is computed on the second,
    so the same ``seed`` always names the same held-out people.
    """
    df = load_ansur(data_dir)
    train, heldout = train_test_split(
        df, test_size=HELDOUT_FRACTION, random_state=np.random.RandomState(seed), stratify=df["sex"]
    )
    return train.sort_index(), heldout.sort_index()
