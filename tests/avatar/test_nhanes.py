"""NHANES 2013-2016 loading: the column mapping, the pregnancy filter and the two cycles."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from avatar.completion.nhanes import CYCLES, load_nhanes, nhanes_cycle, nhanes_path


@pytest.fixture(scope="module")
def nhanes() -> pd.DataFrame:
    return load_nhanes()


def _raw_rows() -> list[dict[str, str]]:
    with nhanes_path().open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_every_non_pregnant_adult_is_loaded_in_vocabulary_units(nhanes: pd.DataFrame) -> None:
    raw = _raw_rows()
    kept = [r for r in raw if r["RIDEXPRG"] != "1"]
    assert len(nhanes) == len(kept) == len(raw) - 123  # PROVENANCE.md: 60 + 63 pregnant women
    first = kept[0]
    row = nhanes.loc[f"N-{first['SEQN']}"]
    assert row["stature_cm"] == pytest.approx(float(first["BMXHT"]))
    assert row["body_mass_kg"] == pytest.approx(float(first["BMXWT"]))
    assert row["waist_girth_cm"] == pytest.approx(float(first["BMXWAIST"]))
    assert row["age_years"] == float(first["RIDAGEYR"])
    assert row["sex"] == {"1": "male", "2": "female"}[first["RIAGENDR"]]
    assert row["cycle"] == first["cycle"]


def test_frame_is_plausible_adults_of_both_sexes_and_cycles(nhanes: pd.DataFrame) -> None:
    assert nhanes.index.is_unique
    assert set(nhanes["sex"]) == {"female", "male"}
    assert set(nhanes["cycle"]) == set(CYCLES)
    assert nhanes["age_years"].between(18, 80).all()
    assert nhanes["stature_cm"].between(120, 210).all()
    assert nhanes["waist_girth_cm"].between(50, 180).all()
    assert not nhanes[["stature_cm", "body_mass_kg", "waist_girth_cm", "age_years"]].isna().any().any()
    # a general population: far more heavy and older people than ANSUR's soldiers
    bmi = nhanes["body_mass_kg"] / (nhanes["stature_cm"] / 100) ** 2
    assert (bmi >= 30).mean() > 0.3 and (nhanes["age_years"] >= 60).mean() > 0.2


def test_cycles_partition_the_frame(nhanes: pd.DataFrame) -> None:
    parts = [nhanes_cycle(c) for c in CYCLES]
    assert sum(len(p) for p in parts) == len(nhanes)
    assert parts[0].index.intersection(parts[1].index).empty
    with pytest.raises(ValueError, match="cycle"):
        nhanes_cycle("2017-2018")


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nhanes_adults_2013_2016.csv"):
        load_nhanes(tmp_path)


def test_a_file_without_a_needed_column_is_refused(tmp_path: Path) -> None:
    raw = pd.read_csv(nhanes_path()).head(5).drop(columns=["BMXWAIST"])
    (tmp_path / "nhanes").mkdir()
    raw.to_csv(tmp_path / "nhanes" / nhanes_path().name, index=False)
    with pytest.raises(ValueError, match="BMXWAIST"):
        load_nhanes(tmp_path)
