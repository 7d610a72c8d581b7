"""ANSUR II loading: the column mapping, the units (mm -> cm, tenths of kg -> kg) and the subject split."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from avatar.completion.ansur import (
    ANSUR_COLUMNS,
    FILES,
    MEASUREMENTS,
    ansur_dir,
    ansur_split,
    load_ansur,
    to_vocabulary,
)


@pytest.fixture(scope="module")
def ansur() -> pd.DataFrame:
    return load_ansur()


def _first_raw_row(sex: str) -> dict[str, str]:
    with (ansur_dir() / FILES[sex]).open(encoding="latin-1", newline="") as f:
        return next(csv.DictReader(f))


@pytest.mark.parametrize("sex", ["female", "male"])
def test_first_subject_is_converted_from_mm_and_tenths_of_kg(ansur: pd.DataFrame, sex: str) -> None:
    raw = _first_raw_row(sex)
    subject_id = raw.get("subjectid") or raw["SubjectId"]
    row = ansur.loc[f"{sex[0].upper()}-{subject_id}"]
    assert row["body_mass_kg"] == pytest.approx(float(raw["weightkg"]) / 10)
    assert row["stature_cm"] == pytest.approx(float(raw["stature"]) / 10)
    assert row["waist_girth_cm"] == pytest.approx(float(raw["waistcircumference"]) / 10)
    assert row["hip_girth_cm"] == pytest.approx(float(raw["buttockcircumference"]) / 10)
    assert row["arm_length_cm"] == pytest.approx(float(raw["sleeveoutseam"]) / 10)
    assert row["sex"] == raw["Gender"].lower() == sex
    assert row["age_years"] == float(raw["Age"])


def test_units_agree_with_the_self_reported_inches_and_pounds(ansur: pd.DataFrame) -> None:
    """ANSUR also holds self-reported Heightin / Weightlbs: an independent check of our scales."""
    raw = pd.concat(
        [pd.read_csv(ansur_dir() / FILES[s], encoding="latin-1") for s in ("female", "male")],
        ignore_index=True,
    )
    reported_kg = raw["Weightlbs"].to_numpy(float) * 0.45359237
    reported_cm = raw["Heightin"].to_numpy(float) * 2.54
    valid = (reported_kg > 0) & (reported_cm > 0)  # a few subjects left them blank (0)
    assert np.median(np.abs(ansur["body_mass_kg"].to_numpy()[valid] - reported_kg[valid])) < 3.0
    assert np.median(np.abs(ansur["stature_cm"].to_numpy()[valid] - reported_cm[valid])) < 3.0


def test_frame_has_every_vocabulary_column_and_both_sexes(ansur: pd.DataFrame) -> None:
    assert list(ansur.columns) == [*MEASUREMENTS, "sex", "age_years"]
    assert "underbust_girth_cm" not in ansur.columns  # ANSUR II has no under-bust girth
    assert ansur.index.is_unique and ansur.index.name == "subject_id"
    assert set(ansur["sex"]) == {"female", "male"}
    assert not ansur.isna().any().any()
    assert ansur["stature_cm"].between(130, 220).all()
    assert ansur["body_mass_kg"].between(30, 200).all()


def test_to_vocabulary_rejects_a_frame_missing_a_mapped_column() -> None:
    raw = pd.DataFrame({c.ansur: [1000] for c in ANSUR_COLUMNS} | {"SubjectId": [1], "Gender": ["Female"]})
    raw = raw.assign(Age=[30]).drop(columns=["crotchheight"])
    with pytest.raises(ValueError, match="crotchheight"):
        to_vocabulary(raw, "female")


def test_to_vocabulary_rejects_the_wrong_sex_in_a_file() -> None:
    raw = pd.DataFrame({c.ansur: [1000] for c in ANSUR_COLUMNS} | {"subjectid": [7], "Gender": ["Male"]})
    with pytest.raises(ValueError, match="Gender"):
        to_vocabulary(raw.assign(Age=[30]), "female")


def test_split_is_fixed_disjoint_complete_and_stratified(ansur: pd.DataFrame) -> None:
    train, heldout = ansur_split(seed=0)
    again_train, again_heldout = ansur_split(seed=0)
    assert train.index.equals(again_train.index) and heldout.index.equals(again_heldout.index)
    assert train.index.intersection(heldout.index).empty
    assert len(train) + len(heldout) == len(ansur)
    assert 0.15 < len(heldout) / len(ansur) < 0.25
    share = (ansur["sex"] == "female").mean()
    assert (heldout["sex"] == "female").mean() == pytest.approx(share, abs=0.01)
    assert not ansur_split(seed=1)[1].index.equals(heldout.index)
