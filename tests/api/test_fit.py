"""POST /v1/fit/check and /v1/fit/check/batch, and the `fitroom sizing check|recommend` CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from api.settings import get_settings
from sizing.train import DEFAULT_NAME, load
from tests.api import sizing_fixtures as fx
from tests.api.sizing_fixtures import assert_error, sold_sizes
from tests.sizing_support import trained_models_dir

URL = "/v1/fit/check"

# the shared fixtures, made visible to pytest in this module
chart_item = fx.chart_item
rows = fx.rows
settings = fx.settings


def _lines(rows, n: int) -> list[dict]:
    picked = rows.drop_duplicates("item_id").head(n)
    return [{"item_id": r.item_id, "shopper_id": r.shopper_id, "size": r.size} for r in picked.itertuples()]


def test_check_flags_by_the_models_threshold_and_suggests_the_flags_way(client, rows, chart_item) -> None:
    model, _ = load(trained_models_dir() / DEFAULT_NAME)
    item = next(i for i in rows["item_id"].unique() if i != chart_item)
    sizes = sold_sizes(rows, item)
    shopper = str(rows.loc[rows["item_id"] == item, "shopper_id"].iloc[0])
    for size in (sizes[0], sizes[-1]):
        out = client.post(URL, json={"item_id": item, "shopper_id": shopper, "size": size}).json()
        assert out["flag"] == (max(out["p_small"], out["p_large"]) >= model.flag_threshold_)
        assert out["reason"].startswith(f"size {size}")
        assert set(out["reasons"]) >= {"item_offset_steps", "usual_size", "preference", "chart"}
        if not out["flag"]:
            assert out["suggested_size"] == size
            continue
        moved = sizes.index(out["suggested_size"]) - sizes.index(size)
        if out["p_small"] >= out["p_large"]:
            assert moved > 0 or size == sizes[-1]
        else:
            assert moved < 0 or size == sizes[0]


def test_size_not_offered_is_422_listing_valid_sizes(client, rows, chart_item) -> None:
    item = next(i for i in rows["item_id"].unique() if i != chart_item)
    line = {"item_id": item, "shopper_id": str(rows["shopper_id"].iloc[0]), "size": "99"}
    error = assert_error(client.post(URL, json=line), 422, "'99'", *sold_sizes(rows, item))
    assert error["details"]["valid_sizes"] == sold_sizes(rows, item)


def test_unknown_ids_are_404(client, rows) -> None:
    line = _lines(rows, 1)[0]
    assert_error(client.post(URL, json={**line, "item_id": "rtr:nope"}), 404, "rtr:nope")
    assert_error(client.post(URL, json={**line, "shopper_id": "rtr:ghost"}), 404, "rtr:ghost")


def test_bad_measurement_and_malformed_json_are_422(client, rows) -> None:
    line = {**_lines(rows, 1)[0], "shopper_id": None, "measurements": {"stature_cm": 5.6}}
    assert_error(client.post(URL, json=line), 422, "measurements.stature_cm", "120", "220")
    assert_error(client.post(URL, content=b"[1, 2", headers={"content-type": "application/json"}), 422)


def test_batch_scores_every_line_like_the_single_check(client, rows) -> None:
    lines = _lines(rows, 3)
    r = client.post(f"{URL}/batch", json={"lines": lines})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 3 and body["flagged"] == sum(x["flag"] for x in body["results"])
    for line, result in zip(lines, body["results"], strict=True):
        single = client.post(URL, json=line).json()
        assert {k: single[k] for k in result} == result


def test_batch_with_a_bad_line_fails_whole_naming_the_line(client, rows) -> None:
    lines = _lines(rows, 3)
    lines[1] = {**lines[1], "item_id": "rtr:nope"}
    error = assert_error(client.post(f"{URL}/batch", json={"lines": lines}), 404, "lines.1", "rtr:nope")
    assert error["details"]["line"] == 1
    lines = _lines(rows, 3)
    lines[2] = {**lines[2], "size": "99"}
    assert_error(client.post(f"{URL}/batch", json={"lines": lines}), 422, "lines.2.size", "valid sizes")


@pytest.mark.parametrize("count", [0, 1001])
def test_batch_size_limits_are_422(client, rows, count) -> None:
    line = _lines(rows, 1)[0]
    assert_error(client.post(f"{URL}/batch", json={"lines": [line] * count}), 422, "lines")


def test_cli_recommend_and_check_use_the_same_service(client, rows, settings, monkeypatch) -> None:
    if not settings.sqlalchemy_url.startswith("sqlite"):
        pytest.skip("the CLI path is the same on both backends; run once")
    monkeypatch.setenv("FITROOM_DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("FITROOM_MODELS_DIR", str(settings.models_dir))
    get_settings.cache_clear()
    try:
        line = _lines(rows, 1)[0]
        runner = CliRunner()
        args = ["sizing", "check", "--item-id", line["item_id"], "--shopper-id", line["shopper_id"]]
        done = runner.invoke(cli, [*args, "--size", line["size"]])
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout.strip().splitlines()[-1]) == client.post(URL, json=line).json()
        rec = [
            "sizing",
            "recommend",
            "--item-id",
            line["item_id"],
            "--shopper-id",
            line["shopper_id"],
            "--json",
        ]
        done = runner.invoke(cli, rec)
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout.strip().splitlines()[-1])["recommended_size"]
        bad = runner.invoke(cli, [*args, "--size", "99"])
        assert bad.exit_code == 2 and "valid sizes" in bad.output
        bad = runner.invoke(cli, ["sizing", "recommend", "--item-id", line["item_id"], "--stature-cm", "65"])
        assert bad.exit_code == 2 and "stature_cm" in bad.output and "120" in bad.output
    finally:
        get_settings.cache_clear()
