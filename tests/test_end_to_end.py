"""Import → train → recommend → check, on real RentTheRunway rows, a real database and real HTTP.

A slice of the busiest RTR items is exported as a generic orders CSV and imported with the CLI (the
same path a retailer's file takes); the model is trained from what the database returns; the service
then answers from that database and that model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.commands.sizing_import import import_cmd
from api.db.session import session_scope
from api.model_store import size_model_dir
from api.security.principal import Scope
from api.settings import Settings, get_settings
from api.store import load_transactions
from sizing.savings import flag_threshold
from sizing.schema import TRANSACTION_COLUMNS
from sizing.train import train
from tests.conftest import keyed_client
from tests.sizing_support import FAST, rtr_slice

N_ROWS = 1500


@pytest.fixture
def served(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Settings, TestClient]]:
    settings = Settings.model_validate(
        {"state_dir": tmp_path / "state", "database_url": database_url, "models_dir": tmp_path / "models"}
    )
    monkeypatch.setenv("FITROOM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    with keyed_client(settings, Scope.WIDGET) as client:
        yield settings, client
    get_settings.cache_clear()


def test_import_train_recommend_and_check(served: tuple[Settings, TestClient], tmp_path: Path) -> None:
    settings, client = served
    slice_ = rtr_slice(N_ROWS)
    orders = tmp_path / "rtr_orders.csv"
    slice_[[c for c in TRANSACTION_COLUMNS if c != "review_text"]].to_csv(orders, index=False)

    cli = typer.Typer()
    cli.command()(import_cmd)
    run = CliRunner().invoke(cli, ["--format", "csv", "--kind", "orders", "--source", "rtr", str(orders)])
    assert run.exit_code == 0, run.output

    with session_scope(settings.sqlalchemy_url) as session:
        stored = load_transactions(session)
    assert len(stored) == N_ROWS
    trained = train(stored, size_model_dir(settings), dataset="rtr-slice", params=FAST, command="e2e test")
    assert trained.info["rows"] == N_ROWS

    shopper = stored["shopper_id"].value_counts().index[0]
    line = stored[stored["shopper_id"] == shopper].iloc[0]
    sold = sorted(set(stored.loc[stored["item_id"] == line["item_id"], "size"]))

    r = client.post("/v1/sizes/recommend", json={"item_id": line["item_id"], "shopper_id": shopper})
    assert r.status_code == 200, r.text
    rec = r.json()
    assert sorted(s["size"] for s in rec["sizes"]) == sold
    for s in rec["sizes"]:
        assert s["p_small"] + s["p_fit"] + s["p_large"] == pytest.approx(
            1.0, abs=1e-3
        )  # probabilities are rounded to 4 places
    best = next(s for s in rec["sizes"] if s["size"] == rec["recommended_size"])
    assert rec["confidence"] == pytest.approx(best["p_fit"])
    assert rec["model_version"] == trained.version and rec["explanation"]

    r = client.post(
        "/v1/fit/check", json={"item_id": line["item_id"], "shopper_id": shopper, "size": line["size"]}
    )
    assert r.status_code == 200, r.text
    check = r.json()
    assert check["suggested_size"] in sold
    threshold = flag_threshold(trained.model.flag_threshold_)
    assert check["flag"] is (max(check["p_small"], check["p_large"]) >= threshold)
    assert check["p_small"] + check["p_fit"] + check["p_large"] == pytest.approx(
        1.0, abs=1e-3
    )  # probabilities are rounded to 4 places
    # the check's probabilities are the risk model's at the ordered size (the issue lets the check and
    # the recommendation use different parts of the model); an unflagged line keeps its size
    if not check["flag"]:
        assert check["suggested_size"] == line["size"]

    r = client.post("/v1/fit/check", json={"item_id": line["item_id"], "shopper_id": shopper, "size": "999"})
    assert r.status_code == 422 and all(size in r.text for size in sold)
    r = client.post("/v1/sizes/recommend", json={"item_id": line["item_id"], "shopper_id": "rtr:nobody"})
    assert r.status_code == 404 and "rtr:nobody" in r.text

    assert client.get("/v1/analytics/summary").status_code == 403  # a widget key reads no analytics
    with keyed_client(settings, Scope.ANALYTICS) as analyst:
        summary = analyst.get("/v1/analytics/summary").json()
    assert summary["order_lines"] == N_ROWS and summary["basis"] == "fit_feedback"
