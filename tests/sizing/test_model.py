"""The size model on small real slices: monotone in size, deterministic, saved and loaded intact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sizing.baselines import ClassPrior, LatentSizeLR
from sizing.evaluate import evaluate, metrics, split
from sizing.rec_metrics import REC_KEYS
from sizing.schema import FIT_LABELS
from sizing.train import load, model_version, train
from tests.sizing_support import FAST, fast_model, rtr_slice


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return rtr_slice(6000, seed=2)


@pytest.fixture(scope="module")
def model(frame):
    return fast_model(frame)


def test_probabilities_are_a_distribution_over_small_fit_large(model, frame) -> None:
    assert list(model.classes_) == list(FIT_LABELS)
    for proba in (model.predict_proba(frame.head(200)), model.curve_proba(frame.head(200))):
        assert proba.shape == (200, 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
        assert (proba > 0).all()


def test_a_larger_size_never_raises_p_small_nor_lowers_p_large(model, frame) -> None:
    sizes = np.arange(0.0, 40.0, 1.0)
    for _, row in frame.drop_duplicates("item_id").head(15).iterrows():
        for shopper in (row, frame.sample(1, random_state=int(row["size_num"])).iloc[0]):
            grid = pd.DataFrame([shopper] * len(sizes)).reset_index(drop=True)
            grid["item_id"], grid["category"] = row["item_id"], row["category"]
            grid["size_num"], grid["size"] = sizes, [f"{s:g}" for s in sizes]
            for proba in (model.predict_proba(grid), model.curve_proba(grid)):
                assert (np.diff(proba[:, 0]) <= 1e-12).all(), row["item_id"]
                assert (np.diff(proba[:, 2]) >= -1e-12).all(), row["item_id"]


def test_same_data_and_seed_give_the_same_model_and_metrics(frame) -> None:
    train_idx, _, test_idx = split(frame, "misra2018", seed=0)
    tr, te = frame.iloc[train_idx], frame.iloc[test_idx]
    first, second = fast_model(tr, seed=5), fast_model(tr, seed=5)
    assert model_version(first) == model_version(second)
    y = te["fit"].to_numpy(dtype=object)
    assert metrics(y, first.predict_proba(te)) == metrics(y, second.predict_proba(te))


def test_explain_gives_one_contribution_per_feature_plus_bias(model, frame) -> None:
    """For both parts: contributions (the layer's starting score inside the bias) sum to the score."""
    for part in (model.risk, model.curves):
        out = part.explain(frame.head(3))
        n = len(part.feature_names_in_)
        assert out["small"].shape == (3, n + 1) and out["large"].shape == (3, n + 1)
        p_small = part.predict_proba(frame.head(3))[:, 0]
        np.testing.assert_allclose(1 / (1 + np.exp(-out["small"].sum(axis=1))), p_small, rtol=1e-6)
    assert not {"size_num", "off_body", "off_sh_usual", "off_it_usual"} & set(model.curves.feature_names_in_)


def test_saved_artifact_reloads_with_the_same_version_and_predictions(model, frame, tmp_path) -> None:
    trained = train(frame, tmp_path, dataset="rtr-slice", params=FAST)
    loaded, version = load(tmp_path)
    assert version == trained.version
    np.testing.assert_allclose(
        loaded.predict_proba(frame.head(50)), trained.model.predict_proba(frame.head(50))
    )
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert trained.version in card and "fitroom sizing train" in card
    with pytest.raises(FileNotFoundError, match="sizefit.joblib"):
        load(tmp_path / "missing")


def test_evaluation_beats_the_class_prior_and_reports_every_key(frame) -> None:
    result = evaluate(frame, protocol="misra2018", dataset="rtr-slice", params=FAST)
    for key in ("protocol", "dataset", "n_train", "n_test", "auc_small", "auc_fit", "auc_large",
                "macro_auc", "accuracy", "ece", "features", "baselines"):  # fmt: skip
        assert key in result
    assert set(result["baselines"]) == {"class_prior", "latent_size_1lv_lr", "lightgbm_no_history"}
    assert set(result["rec_baselines"]) == {"usual_size", "item_bias"}
    for key in REC_KEYS:
        assert 0.0 <= result[key] <= 1.0, key
    assert result["macro_auc"] > result["baselines"]["class_prior"]["macro_auc"]
    assert result["n_train"] + result["n_val"] + result["n_test"] == len(frame)
    assert result["monotone_features"] == ["size_num", "off_body", "off_sh_usual", "off_it_usual"]
    free = evaluate(frame, protocol="misra2018", dataset="rtr-slice", params={**FAST, "monotone": False},
                    baselines=False)  # fmt: skip
    assert free["monotone_features"] == [] and "baselines" not in free


def test_cold_start_test_shoppers_are_unseen_and_temporal_test_is_later(frame) -> None:
    tr, _, te = split(frame, "cold_start", seed=0)
    assert not set(frame["shopper_id"].iloc[tr]) & set(frame["shopper_id"].iloc[te])
    tr, _, te = split(frame, "temporal", seed=0)
    assert frame["ordered_at"].iloc[tr].max() <= frame["ordered_at"].iloc[te].min()


def test_latent_size_baseline_fits_its_training_data_better_than_the_prior(frame) -> None:
    """On a small slice most test shoppers are new (the model then has nothing to say), so check the fit."""
    tr, _, _ = split(frame, "misra2018", seed=0)
    X, y = frame.iloc[tr], frame["fit"].to_numpy(dtype=object)[tr]
    proba = LatentSizeLR().fit(X, y).predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    prior = ClassPrior().fit(X, y).predict_proba(X)
    picked = [list(FIT_LABELS).index(v) for v in y]
    log_loss = -np.mean(np.log(proba[np.arange(len(y)), picked]))
    prior_loss = -np.mean(np.log(prior[np.arange(len(y)), picked]))
    assert log_loss < prior_loss
