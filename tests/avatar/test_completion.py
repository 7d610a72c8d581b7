"""Measurement completion on people the model was not trained on: ANSUR II held out, NHANES cross-cycle."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from avatar.completion import completion_report, load_default
from avatar.completion.ansur import MEASUREMENTS, UNMAPPED, ansur_split
from avatar.completion.model import CompletionModel
from avatar.completion.nhanes import CYCLES, load_nhanes
from avatar.completion.report import BASIC, check_targets, score_dataset, write_model_card
from avatar.completion.store import ARTIFACT, model_dir, train_default

Split = tuple[pd.DataFrame, pd.DataFrame]


def _plausible(name: str) -> tuple[float, float]:
    """The service's own plausible range for a measurement (the body helper's vocabulary)."""
    from avatar.body.measurements import RANGES

    return RANGES[name]


@pytest.fixture(scope="module")
def split() -> Split:
    return ansur_split(seed=0)


@pytest.fixture(scope="module")
def nhanes() -> pd.DataFrame:
    return load_nhanes()


@pytest.fixture(scope="module")
def model(split: Split, nhanes: pd.DataFrame) -> CompletionModel:
    """The default model's recipe: ANSUR train split + both NHANES cycles."""
    return CompletionModel().fit(split[0], population=nhanes)


@pytest.fixture(scope="module")
def ansur_only(split: Split) -> CompletionModel:
    return CompletionModel().fit(split[0])


@pytest.fixture(scope="module")
def cross_cycle(split: Split, nhanes: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Waist scores on each NHANES cycle of a model whose core saw only the other cycle."""
    out = {}
    for cycle in CYCLES:
        test, other = nhanes[nhanes["cycle"] == cycle], nhanes[nhanes["cycle"] != cycle]
        fitted = CompletionModel().fit(split[0], population=other)
        baselines = {"ansur": split[0], "same_population": other}
        out[cycle] = score_dataset(fitted, test, BASIC, baselines, CompletionModel().fit(split[0]))
    return out


# ---------------------------------------------------------------------- general population (NHANES)
@pytest.mark.parametrize("cycle", CYCLES)
def test_nhanes_waist_beats_both_linear_baselines_and_the_ansur_only_model(
    cross_cycle: dict[str, dict[str, Any]], cycle: str
) -> None:
    assert set(cross_cycle[cycle]) == {"waist_girth_cm"}  # NHANES measures no other girth
    waist = cross_cycle[cycle]["waist_girth_cm"]["all"]
    assert waist["n"] > 5000
    assert waist["mae_mm"] <= waist["linear_same_population_mae_mm"]
    assert waist["mae_mm"] <= 0.95 * waist["linear_ansur_mae_mm"]
    assert waist["mae_mm"] <= 0.92 * waist["ansur_only_mae_mm"]
    # older shoppers were the worst served by a model of soldiers
    older = cross_cycle[cycle]["waist_girth_cm"]["by_age"]["60+"]
    assert older["mae_mm"] <= 0.85 * older["ansur_only_mae_mm"]


@pytest.mark.parametrize("cycle", CYCLES)
def test_nhanes_interval_covers_75_to_85_pct_in_every_band(
    cross_cycle: dict[str, dict[str, Any]], cycle: str
) -> None:
    waist = cross_cycle[cycle]["waist_girth_cm"]
    for group in ("by_sex", "by_bmi", "by_age"):
        for band, cell in waist[group].items():
            assert cell["n"] > 1000, (group, band)
            assert 75.0 <= cell["coverage_pct"] <= 85.0, (group, band, cell)


def test_a_heavy_older_woman_is_not_pulled_towards_a_soldier(
    model: CompletionModel, ansur_only: CompletionModel, nhanes: pd.DataFrame
) -> None:
    given: dict[str, float | str] = {"stature_cm": 160, "body_mass_kg": 85, "sex": "female", "age_years": 68}
    general, soldier = model.predict(given), ansur_only.predict(given)
    bmi = nhanes["body_mass_kg"] / (nhanes["stature_cm"] / 100) ** 2
    alike = nhanes[(nhanes["sex"] == "female") & nhanes["age_years"].between(60, 76) & bmi.between(31, 35.5)]
    observed = float(alike["waist_girth_cm"].median())
    assert len(alike) > 50
    assert abs(general["waist_girth_cm"].mean - observed) < abs(soldier["waist_girth_cm"].mean - observed)
    assert general["waist_girth_cm"].lo < observed < general["waist_girth_cm"].hi
    # the other girths follow the civilian waist, inside their plausible ranges
    for name in ("hip_girth_cm", "bust_girth_cm", "thigh_girth_cm"):
        lo, hi = _plausible(name)
        assert lo <= general[name].lo < general[name].mean < general[name].hi <= hi, name


def test_completion_of_nhanes_rows_without_sex_or_age(model: CompletionModel, nhanes: pd.DataFrame) -> None:
    rows = nhanes.sample(300, random_state=0)
    with_all = model.predict_frame(rows, BASIC)["waist_girth_cm"]
    minimal = model.predict_frame(rows, ("stature_cm", "body_mass_kg"))["waist_girth_cm"]
    truth = rows["waist_girth_cm"]
    assert (minimal["lo"] < minimal["mean"]).all() and (minimal["mean"] < minimal["hi"]).all()
    assert (with_all["mean"] - truth).abs().mean() < (minimal["mean"] - truth).abs().mean()
    assert (minimal["hi"] / minimal["lo"]).mean() > (with_all["hi"] / with_all["lo"]).mean()


# ---------------------------------------------------------------------- ANSUR II held out
def test_ansur_heldout_hip_no_worse_and_every_target_near_the_ansur_only_model(
    model: CompletionModel, ansur_only: CompletionModel, split: Split
) -> None:
    train, heldout = split
    scores = score_dataset(model, heldout, BASIC, {"ansur": train}, ansur_only)
    assert set(scores) == set(model.targets_) - set(BASIC)
    assert scores["hip_girth_cm"]["all"]["mae_mm"] <= scores["hip_girth_cm"]["all"]["ansur_only_mae_mm"] + 0.2
    assert scores["hip_girth_cm"]["all"]["mae_mm"] < scores["hip_girth_cm"]["all"]["linear_ansur_mae_mm"]
    for name, s in scores.items():
        assert s["all"]["mae_mm"] <= 1.1 * s["all"]["ansur_only_mae_mm"], name
        assert abs(s["all"]["coverage_pct"] - 80.0) < 6, (name, s["all"])


def test_vocabulary_matches_the_service_vocabulary() -> None:
    from avatar.body.measurements import MEASUREMENTS as SERVICE

    assert set(MEASUREMENTS) | set(UNMAPPED) == set(SERVICE)


def test_heldout_predictions_are_plausible_and_ordered(model: CompletionModel, split: Split) -> None:
    _, heldout = split
    for cols in (BASIC, ("stature_cm", "body_mass_kg")):
        for name, p in model.predict_frame(heldout, cols).items():
            lo, hi = _plausible(name)
            assert (p["lo"] < p["mean"]).all() and (p["mean"] < p["hi"]).all()
            assert (p["lo"] >= lo).all() and (p["hi"] <= hi).all(), name


def test_extreme_but_real_shoppers_stay_inside_the_plausible_range(model: CompletionModel) -> None:
    small = model.predict({"stature_cm": 150, "body_mass_kg": 42, "sex": "female", "age_years": 85})
    large = model.predict({"stature_cm": 200, "body_mass_kg": 140, "sex": "male"})
    for name in small:
        lo, hi = _plausible(name)
        assert lo <= small[name].lo <= small[name].hi <= hi, name
        assert lo <= large[name].lo <= large[name].hi <= hi, name
        assert small[name].mean < large[name].mean, name


def test_heavier_at_the_same_height_means_wider_girths(model: CompletionModel) -> None:
    light = model.predict({"stature_cm": 170, "body_mass_kg": 60, "sex": "female"})
    heavy = model.predict({"stature_cm": 170, "body_mass_kg": 85, "sex": "female"})
    for name in ("bust_girth_cm", "waist_girth_cm", "hip_girth_cm", "thigh_girth_cm"):
        assert heavy[name].mean > light[name].mean


def test_a_given_measurement_is_not_predicted_and_narrows_the_rest(model: CompletionModel) -> None:
    base: dict[str, float | str] = {"stature_cm": 165.0, "body_mass_kg": 70.0, "sex": "female"}
    without = model.predict(base)
    with_hip = model.predict({**base, "hip_girth_cm": without["hip_girth_cm"].hi})
    assert "hip_girth_cm" not in with_hip and "stature_cm" not in with_hip
    before, after = without["thigh_girth_cm"], with_hip["thigh_girth_cm"]
    assert after.hi / after.lo < before.hi / before.lo  # the spread is relative (log space)
    assert after.mean > before.mean  # a larger hip than expected pulls the thigh up
    assert with_hip["waist_girth_cm"].mean > without["waist_girth_cm"].mean  # and the core's waist too


def test_unknown_sex_lies_between_the_two_sexes(model: CompletionModel) -> None:
    base: dict[str, float | str] = {"stature_cm": 172.0, "body_mass_kg": 70.0}
    female = model.predict({**base, "sex": "female"})
    male = model.predict({**base, "sex": "male"})
    for unknown in (model.predict(base), model.predict({**base, "sex": "unspecified"})):
        for name in unknown:
            lo, hi = sorted((female[name].mean, male[name].mean))
            assert lo <= unknown[name].mean <= hi, name


def test_underbust_is_accepted_but_not_predicted(model: CompletionModel) -> None:
    out = model.predict(
        {"stature_cm": 165, "body_mass_kg": 60, "underbust_girth_cm": 75, "hip_girth_cm": None}
    )
    assert "underbust_girth_cm" not in out and "bust_girth_cm" in out
    assert "hip_girth_cm" in out  # None means not given


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"body_mass_kg": 60}, "stature_cm"),
        ({"stature_cm": 170}, "body_mass_kg"),
        ({"stature_cm": 170, "body_mass_kg": None}, "body_mass_kg"),
        ({"stature_cm": 170, "body_mass_kg": -5}, "body_mass_kg"),
        ({"stature_cm": 170, "body_mass_kg": float("nan")}, "body_mass_kg"),
        ({"stature_cm": 170, "body_mass_kg": 60, "sex": "other"}, "sex"),
        ({"stature_cm": 170, "body_mass_kg": 60, "hips": 100}, "hips"),
    ],
)
def test_bad_input_names_the_field(model: CompletionModel, given: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        model.predict(given)


def test_estimator_clones_and_validates_its_parameters(split: Split, nhanes: pd.DataFrame) -> None:
    model = CompletionModel(quantiles=(0.05, 0.95))
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(ValueError, match="quantiles"):
        CompletionModel(quantiles=(0.9, 0.1)).fit(split[0])
    with pytest.raises(ValueError, match="age_years"):
        CompletionModel().fit(split[0].drop(columns=["age_years"]))
    with pytest.raises(ValueError, match="waist_girth_cm"):
        CompletionModel().fit(split[0], population=nhanes.drop(columns=["waist_girth_cm"]))


# ---------------------------------------------------------------------- the report
@pytest.fixture(scope="module")
def report(split: Split) -> dict[str, Any]:
    return completion_report(BASIC, ansur_rows=split[1].head(300))


def test_report_has_every_dataset_band_and_baseline(report: dict[str, Any]) -> None:
    datasets = report["datasets"]
    assert set(datasets) == {"ansur_heldout", *(f"nhanes_{c}" for c in CYCLES)}
    assert datasets["ansur_heldout"]["n"] == 300
    waist = datasets["nhanes_2015-2016"]["measurements"]["waist_girth_cm"]
    assert set(waist["by_bmi"]) == {"<25", "25-30", ">=30"}
    assert set(waist["by_age"]) == {"18-39", "40-59", "60+"}
    assert set(waist["by_sex"]) == {"female", "male"}
    assert set(waist["all"]) == {
        "n",
        "mae_mm",
        "p95_mm",
        "coverage_pct",
        "linear_ansur_mae_mm",
        "linear_same_population_mae_mm",
        "ansur_only_mae_mm",
    }
    assert (
        sum(c["n"] for c in waist["by_bmi"].values())
        == waist["all"]["n"]
        == datasets["nhanes_2015-2016"]["n"]
    )
    targets = check_targets(report)
    assert all(t["met"] for t in targets["nhanes_waist"].values())


def test_report_refuses_training_subjects_and_skips_nhanes_when_waist_is_given(split: Split) -> None:
    train, heldout = split
    with pytest.raises(ValueError, match="shares"):
        completion_report(BASIC, ansur_rows=train.head(20))
    given = ("stature_cm", "body_mass_kg", "sex", "waist_girth_cm")
    only_ansur = completion_report(given, ansur_rows=heldout.head(50))
    assert set(only_ansur["datasets"]) == {"ansur_heldout"}
    assert "waist_girth_cm" not in only_ansur["datasets"]["ansur_heldout"]["measurements"]


def test_model_card_is_deterministic(report: dict[str, Any], tmp_path: Path) -> None:
    card = {"quantiles": report["quantiles"], "sets": {"x": report}, "targets": check_targets(report)}
    write_model_card(card, tmp_path / "a.md")
    write_model_card(card, tmp_path / "b.md")
    text = (tmp_path / "a.md").read_text()
    assert text == (tmp_path / "b.md").read_text()
    mae = report["datasets"]["nhanes_2013-2014"]["measurements"]["waist_girth_cm"]["all"]["mae_mm"]
    assert f"| waist_girth_cm | all | 5513 | {mae:.1f} |" in text


# ---------------------------------------------------------------------- the artifact
GIVEN: dict[str, float | str] = {"stature_cm": 180.0, "body_mass_kg": 82.0, "sex": "male", "age_years": 35}


def _same(a: CompletionModel, b: CompletionModel) -> bool:
    """The same predictions for :data:`GIVEN`, up to floating-point summation order."""
    pa, pb = a.predict(GIVEN), b.predict(GIVEN)
    return pa.keys() == pb.keys() and all(
        np.allclose(np.array([pa[n].mean, pa[n].lo, pa[n].hi]), [pb[n].mean, pb[n].lo, pb[n].hi], rtol=1e-9)
        for n in pa
    )


def test_default_artifact_round_trips_is_cached_and_a_stale_one_is_retrained(
    model: CompletionModel, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    trained = train_default(tmp_path)
    path = model_dir(tmp_path) / ARTIFACT
    assert [p.name for p in path.parent.iterdir()] == [ARTIFACT]  # no temporary file left behind
    loaded = load_default(tmp_path)
    assert _same(loaded, trained) and _same(trained, model)
    assert load_default(tmp_path) is loaded  # cached while the file is unchanged
    joblib.dump({"format_version": 2}, path)
    with caplog.at_level("WARNING"):
        again = load_default(tmp_path)
    assert "retraining" in caplog.text
    assert again is not loaded and _same(again, trained)


def test_a_replaced_artifact_is_reloaded(split: Split, tmp_path: Path) -> None:
    path = model_dir(tmp_path) / ARTIFACT
    CompletionModel().fit(split[0]).save(path)
    first = load_default(tmp_path)
    CompletionModel(quantiles=(0.05, 0.95)).fit(split[0]).save(path)
    second = load_default(tmp_path)
    assert second.quantiles == (0.05, 0.95) and first.quantiles == (0.1, 0.9)
    wide, narrow = second.predict(GIVEN)["hip_girth_cm"], first.predict(GIVEN)["hip_girth_cm"]
    assert wide.hi - wide.lo > narrow.hi - narrow.lo


def test_a_failed_save_keeps_the_previous_artifact(split: Split, tmp_path: Path) -> None:
    path = model_dir(tmp_path) / ARTIFACT
    good = CompletionModel().fit(split[0])
    good.save(path)
    broken = CompletionModel().fit(split[0])
    broken.core_means_ = threading.Lock()  # cannot be pickled: the dump fails part-way
    with pytest.raises(TypeError):
        broken.save(path)
    assert [p.name for p in path.parent.iterdir()] == [ARTIFACT]
    assert _same(CompletionModel.load(path), good)


def test_readers_never_see_a_half_written_artifact(split: Split, tmp_path: Path) -> None:
    path = model_dir(tmp_path) / ARTIFACT
    models = [CompletionModel().fit(split[0]), CompletionModel(quantiles=(0.2, 0.8)).fit(split[0])]
    models[0].save(path)
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                assert CompletionModel.load(path).quantiles in {(0.1, 0.9), (0.2, 0.8)}
            except BaseException as exc:  # noqa: BLE001 - any failure is the test's finding
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(40):
        models[i % 2].save(path)
    done.set()
    reader.join()
    assert errors == []
    assert np.allclose(CompletionModel.load(path).core_means_, models[1].core_means_)
