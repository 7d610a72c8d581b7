"""``known_size`` on POST /v1/sizes/recommend ("I wear 8 in Acme") and GET /v1/brands, on a real trained
model and real RentTheRunway rows whose items are given brands in the database."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import update

from api.db.session import session_scope
from api.db.sizing_tables import Item
from api.security.principal import Scope
from api.settings import Settings
from sizing.scales import normalize
from sizing.train import DEFAULT_NAME, load
from tests.api import sizing_fixtures as fx
from tests.api.sizing_fixtures import assert_error
from tests.conftest import keyed_client
from tests.sizing_support import trained_models_dir

URL = "/v1/sizes/recommend"
BODY = {"stature_cm": 165, "body_mass_kg": 60}

chart_item = fx.chart_item
rows = fx.rows
settings = fx.settings


@pytest.fixture
def offsets(rows: pd.DataFrame) -> dict[str, float]:
    """The served model's learned offset (steps, > 0 runs small) of each item in the database."""
    layer = load(trained_models_dir() / DEFAULT_NAME)[0].curves.layer_
    return {str(i): float(layer.o_[layer.items_[i]]) for i in rows["item_id"].unique()}


@pytest.fixture
def brands(settings: Settings, offsets: dict[str, float]) -> dict[str, str]:
    """Two brands: the item that runs smallest is Snug & Co's, the one that runs largest is Roomy's."""
    ranked = sorted(offsets, key=offsets.__getitem__)
    given = {ranked[-1]: "Snug & Co", ranked[0]: "Roomy"}
    with session_scope(settings.sqlalchemy_url) as session:
        for item_id, brand in given.items():
            session.execute(update(Item).where(Item.id == item_id).values(brand=brand))
    return given


def test_brands_lists_the_brands_with_items_for_the_widget(settings, brands) -> None:
    with keyed_client(settings, Scope.WIDGET) as widget:
        r = widget.get("/v1/brands")
    assert r.status_code == 200, r.text
    assert r.json()["data"] == [{"brand": "Roomy", "items": 1}, {"brand": "Snug & Co", "items": 1}]


def test_the_known_size_is_placed_by_how_its_brand_runs(client, rows, brands, offsets) -> None:
    item = str(rows["item_id"].iloc[0])
    for item_id, brand in brands.items():
        r = client.post(
            URL, json={"item_id": item, "measurements": BODY, "known_size": {"brand": brand, "size": "8"}}
        )
        assert r.status_code == 200, r.text
        known = r.json()["reasons"]["known_size"]
        assert known["brand"] == brand and known["label"] == "8"
        assert known["brand_offset_steps"] == pytest.approx(offsets[item_id], abs=0.01)
        category = rows.loc[rows["item_id"] == item, "category"].iloc[0]
        expected = normalize("8", category=category).value - offsets[item_id]  # type: ignore[union-attr]
        assert known["value_steps"] == pytest.approx(expected, abs=0.01)
        assert r.json()["reasons"]["usual_from"] == "known_size"
        assert any(line.startswith(f"you wear 8 in {brand}") for line in r.json()["explanation"])


def test_a_larger_known_size_recommends_a_larger_size(client, rows, brands) -> None:
    brand = next(iter(brands.values()))
    compared = 0
    for item in rows["item_id"].unique():
        offered = {s: i for i, s in enumerate(fx.sold_sizes(rows, str(item)))}
        picks = []
        for label in ("0", "16"):
            body = {"item_id": str(item), "measurements": BODY, "known_size": {"brand": brand, "size": label}}
            r = client.post(URL, json=body)
            assert r.status_code == 200, r.text
            picks.append(offered.get(r.json()["recommended_size"], -1))
        if len(offered) >= 4:
            assert picks[0] < picks[1], (item, picks)
            compared += 1
    assert compared, "no item offers enough sizes to compare"


def test_the_known_size_alone_describes_a_shopper(client, rows, brands) -> None:
    item = str(rows["item_id"].iloc[0])
    r = client.post(URL, json={"item_id": item, "known_size": {"brand": "snug & co", "size": "M"}})
    assert r.status_code == 200, r.text
    assert r.json()["reasons"]["known_size"]["brand"] == "Snug & Co"  # matched regardless of case


def test_an_unknown_brand_is_404_naming_the_field(client, rows, brands) -> None:
    item = str(rows["item_id"].iloc[0])
    r = client.post(
        URL, json={"item_id": item, "measurements": BODY, "known_size": {"brand": "Nope", "size": "8"}}
    )
    error = assert_error(r, 404, "known_size.brand", "Nope")
    assert error["details"]["field"] == "known_size.brand"


BAD_KNOWN = [
    ({"brand": "Roomy", "size": "banana"}, "known_size.size"),
    ({"brand": "Roomy", "size": "   "}, "known_size.size"),
    ({"brand": "Roomy", "size": "8" * 33}, "known_size.size"),
    ({"brand": "R" * 129, "size": "8"}, "known_size.brand"),
    ({"brand": "", "size": "8"}, "known_size.brand"),
    ({"brand": "Roomy"}, "known_size.size"),
    ({"brand": "Roomy", "size": "8", "system": "us"}, "known_size.system"),
]


def test_a_bad_known_size_is_422_naming_the_field(client, rows, brands) -> None:
    item = str(rows["item_id"].iloc[0])
    for known, field in BAD_KNOWN:
        r = client.post(URL, json={"item_id": item, "measurements": BODY, "known_size": known})
        error = assert_error(r, 422, field)
        assert field in {e["field"] for e in error["details"]["errors"]}, (known, error)
