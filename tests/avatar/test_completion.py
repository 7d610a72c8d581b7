"""Measurement completion on ANSUR II subjects the model was not trained on."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from avatar.completion.ansur import MEASUREMENTS, UNMAPPED, ansur_split
from avatar.completion.model import (
    ARTIFACT,
    CompletionModel,
    completion_scores,
    cross_validate,
    evaluate_completion,
    load_default,
    model_dir,
    train_default,
    write_model_card,
)

BASIC = ("stature_cm", "body_mass_kg", "sex", "age_years")


def _plausible(name: str) -> tuple[float, float]:
    """The service's own plausible range for a measurement (the body helper's vocabulary)."""
    from avatar.body.measurements import RANGES

    return RANGES[name]


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    return ansur_split(seed=0)


@pytest.fixture(scope="module")
def model(split: tuple[pd.DataFrame, pd.DataFrame]) -> CompletionModel:
    return CompletionModel().fit(split[0])


def test_beats_the_linear_baseline_on_waist_and_hip_for_heldout_subjects(
    model: CompletionModel, split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, heldout = split
    block = evaluate_completion(BASIC, heldout, model=model, df_train=train)
    assert set(block) == set(model.targets_) - set(BASIC)
    for name in ("waist_girth_cm", "hip_girth_cm"):
        assert set(block[name]) == {"mae_mm", "p95_mm", "baseline_mae_mm"}
        assert block[name]["mae_mm"] < block[name]["baseline_mae_mm"]
        assert block[name]["mae_mm"] <= block[name]["p95_mm"]
        # and far better than knowing only the sex: predict each sex's training mean
        sex_mean = heldout["sex"].map(train.groupby("sex")[name].mean())
        assert block[name]["mae_mm"] < 0.6 * float((sex_mean - heldout[name]).abs().mean() * 10)


def test_interval_covers_about_its_nominal_share(
    model: CompletionModel, split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, heldout = split
    nominal = 100 * (model.quantiles[1] - model.quantiles[0])
    for cols in (BASIC, ("stature_cm", "body_mass_kg")):
        for name, s in completion_scores(model, cols, train, heldout).items():
            assert abs(s["coverage_pct"] - nominal) < 6, (cols, name, s)


def test_vocabulary_matches_the_service_vocabulary() -> None:
    from avatar.body.measurements import MEASUREMENTS as SERVICE

    assert set(MEASUREMENTS) | set(UNMAPPED) == set(SERVICE)


def test_heldout_predictions_are_plausible_and_ordered(
    model: CompletionModel, split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    _, heldout = split
    for cols in (BASIC, ("stature_cm", "body_mass_kg")):
        for name, p in model.predict_frame(heldout, cols).items():
            lo, hi = _plausible(name)
            assert (p["lo"] < p["mean"]).all() and (p["mean"] < p["hi"]).all()
            assert (p["lo"] >= lo).all() and (p["hi"] <= hi).all(), name


def test_extreme_but_real_shoppers_stay_inside_the_plausible_range(model: CompletionModel) -> None:
    small = model.predict({"stature_cm": 150, "body_mass_kg": 42, "sex": "female", "age_years": 70})
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


def test_cross_validation_by_subject_reports_every_target(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, _ = split
    cv = cross_validate(train, BASIC, k=3)
    assert set(cv) == set(CompletionModel().fit(train).targets_) - set(BASIC)
    assert all(set(s) == {"mae_mm", "p95_mm", "baseline_mae_mm", "coverage_pct"} for s in cv.values())
    assert cv["hip_girth_cm"]["mae_mm"] < cv["hip_girth_cm"]["baseline_mae_mm"]


def test_evaluation_refuses_training_subjects(
    model: CompletionModel, split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, _ = split
    with pytest.raises(ValueError, match="shares"):
        evaluate_completion(BASIC, train.head(20), model=model, df_train=train)


def test_default_artifact_round_trips_and_a_stale_one_is_retrained(
    model: CompletionModel, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    trained = train_default(tmp_path)
    path = model_dir(tmp_path) / ARTIFACT
    assert path.is_file()
    given: dict[str, float | str] = {
        "stature_cm": 180.0,
        "body_mass_kg": 82.0,
        "sex": "male",
        "age_years": 35,
    }
    assert load_default(tmp_path).predict(given) == trained.predict(given) == model.predict(given)
    joblib.dump({"format_version": 0}, path)
    with caplog.at_level("WARNING"):
        again = load_default(tmp_path)
    assert "retraining" in caplog.text
    assert again.predict(given) == trained.predict(given)


def test_estimator_clones_and_validates_its_parameters(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    model = CompletionModel(quantiles=(0.05, 0.95))
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(ValueError, match="quantiles"):
        CompletionModel(quantiles=(0.9, 0.1)).fit(split[0])
    with pytest.raises(ValueError, match="age_years"):
        CompletionModel().fit(split[0].drop(columns=["age_years"]))


def test_model_card_is_deterministic(tmp_path: Path) -> None:
    report = {
        "n_train": 3,
        "n_heldout": 1,
        "quantiles": [0.1, 0.9],
        "sets": {
            "x": {
                "given": ["stature_cm"],
                "heldout": {
                    "hip_girth_cm": dict.fromkeys(
                        ("mae_mm", "p95_mm", "baseline_mae_mm", "coverage_pct"), float(np.pi)
                    )
                },
                "cv5": {},
            }
        },
    }
    write_model_card(report, tmp_path / "a.md")
    write_model_card(report, tmp_path / "b.md")
    text = (tmp_path / "a.md").read_text()
    assert text == (tmp_path / "b.md").read_text()
    assert "| hip_girth_cm | 3.1 |" in text
