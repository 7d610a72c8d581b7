"""``/metrics`` on the real app: request counts and latency per route and status move by exactly
what was sent, the served model's version, avatar stage times, photo refusals by code; and the
request id is echoed (the caller's when well-formed, a fresh one otherwise)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.security.principal import Scope
from api.settings import Settings
from tests.api.sizing_fixtures import chart_item, rows, settings  # noqa: F401 - fixtures
from tests.conftest import bearer, issue_key, keyed_client

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # nothing per-backend


@pytest.fixture
def admin(settings: Settings) -> Iterator[TestClient]:  # noqa: F811
    with keyed_client(settings, Scope.ADMIN) as c:
        yield c


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def _get(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_model_stages_and_refusals(
    admin: TestClient,
    settings: Settings,  # noqa: F811
    rows: pd.DataFrame,  # noqa: F811
) -> None:
    line = rows.iloc[0]
    body = {"item_id": line["item_id"], "shopper_id": line["shopper_id"]}
    before = _samples(admin)
    for _ in range(3):
        assert admin.post("/v1/sizes/recommend", json=body).status_code == 200
    version = admin.post("/v1/sizes/recommend", json=body).json()["model_version"]
    assert admin.post("/v1/sizes/recommend", json={**body, "item_id": "rtr:nope"}).status_code == 404
    shopper = bearer(issue_key(settings, Scope.SHOPPER))
    created = admin.post("/v1/avatars", json={"stature_cm": 170, "body_mass_kg": 64}, headers=shopper)
    assert created.status_code == 201
    refused = admin.post(
        "/v1/avatars",
        files={"photo": ("x.jpg", (FACES / "noface_rocket.jpg").read_bytes())},
        data={"body": json.dumps({"stature_cm": 170, "body_mass_kg": 64})},
        headers=shopper,
    )
    assert refused.status_code == 422
    code = refused.json()["error"]["code"]
    after = _samples(admin)

    def moved(name: str, **labels: str) -> float:
        return _get(after, name, **labels) - _get(before, name, **labels)

    route = {"method": "POST", "route": "/v1/sizes/recommend"}
    assert moved("fitroom_http_requests_total", **route, status="200") == 4
    assert moved("fitroom_http_requests_total", **route, status="404") == 1
    assert moved("fitroom_http_request_duration_seconds_count", **route, status="200") == 4
    assert moved("fitroom_http_request_duration_seconds_bucket", **route, status="200", le="+Inf") == 4
    assert _get(after, "fitroom_size_model_info", version=version) == 1
    for stage in ("completion", "fit", "export"):
        assert moved("fitroom_avatar_stage_seconds_count", stage=stage) == 1, stage
    assert moved("fitroom_photo_refusals_total", code=code) == 1


def test_request_id_is_echoed_or_made(admin: TestClient) -> None:
    given = admin.get("/healthz", headers={"X-Request-ID": "shop-7f3a.1"})
    assert given.headers["x-request-id"] == "shop-7f3a.1"
    made = admin.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert made.headers["x-request-id"] != "bad id\twith spaces" and len(made.headers["x-request-id"]) == 32
