"""POST /v1/sizes/recommend on a real trained model and real SQLite/PostgreSQL rows."""

from __future__ import annotations

import numpy as np
import pytest

from sizing import recommend as rec
from sizing.train import DEFAULT_NAME, load
from tests.api import sizing_fixtures as fx
from tests.api.sizing_fixtures import assert_error, sold_sizes
from tests.sizing_support import trained_models_dir

URL = "/v1/sizes/recommend"

# the shared fixtures, made visible to pytest in this module
chart_item = fx.chart_item
no_model_client = fx.no_model_client
rows = fx.rows
settings = fx.settings


def _buyer(rows, item_id: str) -> str:
    return str(rows.loc[rows["item_id"] == item_id, "shopper_id"].iloc[0])


def test_recommends_among_every_offered_size_for_a_known_shopper(client, rows, chart_item) -> None:
    item = next(i for i in rows["item_id"].unique() if i != chart_item)
    r = client.post(URL, json={"item_id": item, "shopper_id": _buyer(rows, item)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["size"] for s in body["sizes"]] == sold_sizes(rows, item)
    for s in body["sizes"]:
        assert s["p_small"] + s["p_fit"] + s["p_large"] == pytest.approx(1.0, abs=1e-3)
    top = max(s["p_fit"] for s in body["sizes"])
    chosen = next(s for s in body["sizes"] if s["size"] == body["recommended_size"])
    assert chosen["p_fit"] >= top - 0.001  # the most likely to fit (ties: nearest the usual size)
    assert body["confidence"] == chosen["p_fit"]
    assert body["explanation"] and body["explanation"][0].startswith(f"size {chosen['size']}")
    assert body["model_version"] == client.get("/healthz").json()["models"]["sizefit"]


def test_the_size_layer_reasons_come_as_data_and_as_words(client, rows, chart_item) -> None:
    """A chart item with the shopper's bust: the chart gap at the chosen size is in both forms."""
    body = {"stature_cm": 168, "body_mass_kg": 64, "bust_girth_cm": 93}
    r = client.post(URL, json={"item_id": chart_item, "measurements": body})
    assert r.status_code == 200, r.text
    out = r.json()
    reasons = out["reasons"]
    assert reasons["usual_from"] == "measurements" and reasons["preference"] is None
    assert reasons["usual_size"] in {"4", "8", "12"}
    gap = reasons["chart"][0]
    assert gap["size"] == out["recommended_size"] and gap["measurement"] == "bust_girth"
    assert gap["body_cm"] == 93 and gap["ease_cm"] == pytest.approx(gap["chart_cm"] - 93, abs=0.05)
    assert gap["chart_cm"] == {"4": 86.0, "8": 91.0, "12": 96.0}[gap["size"]]
    word = "tighter than your bust" if gap["ease_cm"] < 0 else "of room at your bust"
    assert any(f"size {gap['size']}'s chart" in line and word in line for line in out["explanation"])
    known = client.post(URL, json={"item_id": chart_item, "shopper_id": _buyer(rows, chart_item)}).json()
    assert known["reasons"]["preference"] in {"tight", "regular", "loose"}
    assert isinstance(known["reasons"]["preference_steps"], float)
    assert known["reasons"]["item_offset_steps"] is not None  # the item has fit history


def test_p_small_falls_by_a_real_margin_from_the_smallest_to_the_largest_size(client, rows) -> None:
    for item in rows["item_id"].unique():
        out = client.post(URL, json={"item_id": str(item), "measurements": {"stature_cm": 165}}).json()
        if len(out["sizes"]) >= 4:
            assert out["sizes"][0]["p_small"] - out["sizes"][-1]["p_small"] >= 0.1, out["sizes"]


def test_a_larger_size_is_never_more_likely_too_small(client, rows) -> None:
    item = str(rows["item_id"].iloc[0])
    body = client.post(
        URL, json={"item_id": item, "measurements": {"stature_cm": 165, "body_mass_kg": 60}}
    ).json()
    p_small = [s["p_small"] for s in body["sizes"]]
    assert p_small == sorted(p_small, reverse=True)


def test_measurements_alone_are_enough(client, rows) -> None:
    item = str(rows["item_id"].iloc[0])
    r = client.post(
        URL,
        json={
            "item_id": item,
            "measurements": {"stature_cm": 170.2, "body_mass_kg": 61.5, "bra_band": 34, "cup": "c"},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["shopper_id"] is None


def test_a_size_chart_defines_the_offered_sizes(client, rows, chart_item) -> None:
    r = client.post(URL, json={"item_id": chart_item, "shopper_id": _buyer(rows, chart_item)})
    assert r.status_code == 200, r.text
    assert [s["size"] for s in r.json()["sizes"]] == ["4", "8", "12"]


def test_unknown_item_is_404_naming_it(client) -> None:
    assert_error(
        client.post(URL, json={"item_id": "rtr:nope", "measurements": {"stature_cm": 170}}), 404, "rtr:nope"
    )


def test_unknown_shopper_is_404_naming_it(client, rows) -> None:
    item = str(rows["item_id"].iloc[0])
    assert_error(client.post(URL, json={"item_id": item, "shopper_id": "rtr:ghost"}), 404, "rtr:ghost")


BAD_MEASUREMENTS = [
    ({"stature_cm": 65}, ["measurements.stature_cm", "120", "220"]),  # inches given as cm
    ({"body_mass_kg": 300}, ["measurements.body_mass_kg", "30", "250"]),  # pounds given as kg
    ({"bust_girth_cm": 5}, ["measurements.bust_girth_cm", "60", "180"]),
    ({"age_years": 7}, ["measurements.age_years", "13", "100"]),
    ({"height_in": 65}, ["measurements.height_in"]),  # a unit we do not take
    ({"stature_cm": "tall"}, ["measurements.stature_cm"]),
    ({"cup": "zz"}, ["measurements.cup"]),
]


def test_bad_measurements_are_422_naming_field_and_range(client, rows) -> None:
    item = str(rows["item_id"].iloc[0])
    for measurements, needles in BAD_MEASUREMENTS:
        r = client.post(URL, json={"item_id": item, "measurements": measurements})
        assert assert_error(r, 422, *needles)["code"] == "invalid_input"


def test_no_shopper_and_no_measurements_is_422(client, rows) -> None:
    assert_error(client.post(URL, json={"item_id": str(rows["item_id"].iloc[0])}), 422, "shopper_id")


def test_malformed_json_is_422(client) -> None:
    r = client.post(URL, content=b'{"item_id": ', headers={"content-type": "application/json"})
    assert_error(r, 422)


def test_missing_model_is_503_not_500(no_model_client, rows) -> None:
    r = no_model_client.post(
        URL, json={"item_id": str(rows["item_id"].iloc[0]), "measurements": {"stature_cm": 170}}
    )
    assert_error(r, 503, "fitroom sizing train")
    assert no_model_client.get("/healthz").json()["models"]["sizefit"] is None


def test_explanation_contributions_add_up_to_the_model_score(rows) -> None:
    """The serving explanation's per-feature contributions (decision-path attribution, one leaf
    lookup) must add up to each stage's raw LightGBM score, as TreeSHAP's do, on real rows."""
    curves = load(trained_models_dir() / DEFAULT_NAME)[0].curves
    features = curves.transform(rows.head(200))[:, : curves.n_features_in_]
    contrib = rec.path_contributions(curves, features)
    for stage, booster in curves.boosters_.items():
        raw = booster.predict(features, num_iteration=curves.best_iterations_[stage], raw_score=True)
        assert contrib[stage].shape == (len(features), curves.n_features_in_ + 1)
        np.testing.assert_allclose(contrib[stage].sum(axis=1), raw, atol=1e-9)
        # the same total split differently: a feature no tree split on gets nothing
        unused = np.flatnonzero(booster.feature_importance("split") == 0)
        assert np.all(contrib[stage][:, unused] == 0.0)


def test_an_avatars_measurements_feed_the_recommendation(client, rows) -> None:
    """The composition the service exists for: avatar body → size advice, as plain measurements."""
    created = client.post(
        "/v1/avatars", json={"stature_cm": 165, "body_mass_kg": 58, "sex": "female", "waist_girth_cm": 70}
    )
    assert created.status_code == 201, created.text
    avatar = created.json()
    item = str(rows["item_id"].iloc[0])
    by_avatar = client.post(URL, json={"item_id": item, "avatar_id": avatar["id"]})
    assert by_avatar.status_code == 200, by_avatar.text
    m = avatar["measurements"]
    same_body = {
        "stature_cm": m["stature_cm"]["target"],
        "body_mass_kg": m["body_mass_kg"]["target"],
        "waist_girth_cm": m["waist_girth_cm"]["target"],
        "bust_girth_cm": m["bust_girth_cm"]["achieved"],
        "hip_girth_cm": m["hip_girth_cm"]["achieved"],
    }
    by_measurements = client.post(URL, json={"item_id": item, "measurements": same_body})
    assert by_avatar.json()["sizes"] == by_measurements.json()["sizes"]
    # a different body gets different advice, so the avatar's data really reached the model
    other = client.post(URL, json={"item_id": item, "measurements": {**same_body, "body_mass_kg": 95}})
    assert other.json()["sizes"] != by_avatar.json()["sizes"]


def test_an_unknown_avatar_is_404_naming_it(client, rows) -> None:
    item = str(rows["item_id"].iloc[0])
    r = client.post(URL, json={"item_id": item, "avatar_id": "no-such-avatar"})
    assert_error(r, 404, "no-such-avatar")
