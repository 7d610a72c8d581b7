"""Keys and scopes on the real app and database: every boundary both ways, avatar ownership, revocation,
CORS for a key's origins, rate limits (in process and in Redis), and the public routes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.db.key_tables import ApiKey
from api.db.session import session_scope
from api.security.principal import Scope
from api.settings import Settings
from tests.api.sizing_fixtures import assert_error, chart_item, rows, settings  # noqa: F401 - fixtures
from tests.conftest import bearer, issue_key, keyed_client, run_cli

AVATAR = {"stature_cm": 170.0, "body_mass_kg": 65.0, "sex": "female", "age_years": 29}


@pytest.fixture
def anon(settings: Settings) -> Iterator[TestClient]:  # noqa: F811 - the sizing settings fixture
    with keyed_client(settings, None) as c:
        yield c


def _unauthorized(response: Any) -> None:
    error = assert_error(response, 401)
    assert error["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_missing_wrong_and_malformed_keys_are_401(anon: TestClient) -> None:
    _unauthorized(anon.get("/v1/analytics/summary"))
    _unauthorized(anon.get("/v1/analytics/summary", headers=bearer("fr_" + "x" * 43)))
    _unauthorized(anon.get("/v1/analytics/summary", headers={"Authorization": "Basic dXNlcjpwdw=="}))
    _unauthorized(anon.post("/v1/sizes/recommend", json={}))  # auth before validation: no schema leak


def test_public_routes_need_no_key(anon: TestClient) -> None:
    for path in ("/healthz", "/docs", "/openapi.json", "/widget.js", "/sign-in"):
        assert anon.get(path).status_code == 200, path


def _recommend(client: TestClient, rows: pd.DataFrame, headers: dict[str, str]) -> Any:  # noqa: F811
    line = rows.iloc[0]
    body = {"item_id": line["item_id"], "shopper_id": line["shopper_id"]}
    return client.post("/v1/sizes/recommend", json=body, headers=headers)


CALLS: dict[str, Any] = {
    "recommend": lambda c, r, h: _recommend(c, r, h),
    "analytics": lambda c, _r, h: c.get("/v1/analytics/summary", headers=h),
    "validate": lambda c, _r, h: c.post("/v1/avatars/validate", json=AVATAR, headers=h),
    "keys": lambda c, _r, h: c.get("/v1/admin/keys", headers=h),
    "metrics": lambda c, _r, h: c.get("/metrics", headers=h),
    "items": lambda c, r, h: c.get(f"/v1/items/{r.iloc[0]['item_id']}", headers=h),
}
ALLOWED = {
    Scope.WIDGET: {"recommend", "items"},
    Scope.SHOPPER: {"recommend", "items", "validate"},
    Scope.ANALYTICS: {"analytics"},
    Scope.ADMIN: set(CALLS),
}


@pytest.mark.parametrize("scope", list(Scope))
def test_scope_boundaries_both_ways(
    anon: TestClient,
    settings: Settings,  # noqa: F811
    rows: pd.DataFrame,  # noqa: F811
    scope: Scope,
) -> None:
    headers = bearer(issue_key(settings, scope))
    for name, call in CALLS.items():
        response = call(anon, rows, headers)
        if name in ALLOWED[scope]:
            assert response.status_code == 200, (scope, name, response.text)
        else:
            error = assert_error(response, 403)
            assert error["code"] == "forbidden" and error["details"]["scope"] == scope.value, (scope, name)


def test_a_shopper_reaches_only_its_own_avatars(anon: TestClient, settings: Settings) -> None:  # noqa: F811
    alice, bob = bearer(issue_key(settings, Scope.SHOPPER)), bearer(issue_key(settings, Scope.SHOPPER))
    admin = bearer(issue_key(settings, Scope.ADMIN))
    created = anon.post("/v1/avatars", json=AVATAR, headers=alice)
    assert created.status_code == 201, created.text
    avatar_id = created.json()["id"]
    unknown = str(uuid.uuid4())
    for path in ("", "/mesh.glb", "/params.json", "/export"):
        assert anon.get(f"/v1/avatars/{avatar_id}{path}", headers=alice).status_code == 200, path
        assert anon.get(f"/v1/avatars/{avatar_id}{path}", headers=admin).status_code == 200, path
        theirs = anon.get(f"/v1/avatars/{avatar_id}{path}", headers=bob)
        missing = anon.get(f"/v1/avatars/{unknown}{path}", headers=bob)
        # another shopper's avatar looks exactly like one that does not exist
        assert theirs.status_code == missing.status_code == 404, path
        assert theirs.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    assert anon.delete(f"/v1/avatars/{avatar_id}", headers=bob).status_code == 404
    assert anon.delete(f"/v1/avatars/{avatar_id}", headers=alice).status_code == 204
    assert anon.get(f"/v1/avatars/{avatar_id}", headers=alice).status_code == 404


def test_cli_keys_are_hashed_listed_and_revoked(settings: Settings) -> None:  # noqa: F811
    fresh = settings.model_copy(update={"key_cache_seconds": 0.0})  # see a revocation at once
    out = run_cli(fresh, "keys", "create", "--scope", "analytics", "--name", "returns team", "--json")
    issued = json.loads(out.strip().splitlines()[-1])
    assert set(issued) == {"id", "key", "scope"} and issued["scope"] == "analytics"
    with session_scope(fresh.sqlalchemy_url) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.id == issued["id"]))
        assert row is not None and issued["key"] not in json.dumps(
            {c: str(getattr(row, c)) for c in ("id", "digest", "scope", "name", "origins")}
        )
    listed = json.loads(run_cli(fresh, "keys", "list", "--json"))
    assert [(k["id"], k["revoked"]) for k in listed if k["id"] == issued["id"]] == [(issued["id"], False)]
    assert issued["key"] not in json.dumps(listed)
    with keyed_client(fresh, None) as c:
        assert c.get("/v1/analytics/summary", headers=bearer(issued["key"])).status_code == 200
        run_cli(fresh, "keys", "revoke", issued["id"])
        _unauthorized(c.get("/v1/analytics/summary", headers=bearer(issued["key"])))


def test_admin_revokes_over_http_at_once(anon: TestClient, settings: Settings) -> None:  # noqa: F811
    admin = bearer(issue_key(settings, Scope.ADMIN))
    body = {"scope": "widget", "origins": ["https://Shop.Example/"]}
    made = anon.post("/v1/admin/keys", json=body, headers=admin)
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    listed = {k["id"]: k for k in anon.get("/v1/admin/keys", headers=admin).json()}
    assert listed[made.json()["id"]]["origins"] == ["https://shop.example"]
    assert anon.get("/v1/items?limit=1", headers=bearer(key)).status_code == 200  # now cached
    assert anon.delete(f"/v1/admin/keys/{made.json()['id']}", headers=admin).status_code == 204
    _unauthorized(anon.get("/v1/items?limit=1", headers=bearer(key)))
    assert anon.delete(f"/v1/admin/keys/{made.json()['id']}", headers=admin).status_code == 404


def test_cors_exactly_for_the_keys_origins(
    anon: TestClient,
    settings: Settings,  # noqa: F811
    rows: pd.DataFrame,  # noqa: F811
) -> None:
    key = bearer(issue_key(settings, Scope.WIDGET, origins=["https://shop.example"]))
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    listed = anon.options("/v1/sizes/recommend", headers={"Origin": "https://shop.example", **preflight})
    assert listed.status_code == 204
    assert listed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "Authorization" in listed.headers["access-control-allow-headers"]
    unlisted = anon.options("/v1/sizes/recommend", headers={"Origin": "https://evil.example", **preflight})
    assert unlisted.status_code == 403 and "access-control-allow-origin" not in unlisted.headers
    ok = _recommend(anon, rows, {**key, "Origin": "https://shop.example"})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://shop.example"
    stolen = _recommend(anon, rows, {**key, "Origin": "https://evil.example"})
    assert assert_error(stolen, 403)["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in stolen.headers


def _redis_url() -> str:
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError:
        pytest.skip("Redis not reachable at 127.0.0.1:6379")
    return url


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_rate_limit_per_key_and_route_is_429_with_retry_after(
    settings: Settings,  # noqa: F811
    rows: pd.DataFrame,  # noqa: F811
    backend: str,
) -> None:
    redis_url = _redis_url() if backend == "redis" else None
    limited = settings.model_copy(update={"rate_limit_per_minute": 3, "redis_url": redis_url})
    with keyed_client(limited, Scope.WIDGET) as c:
        for _ in range(3):
            assert _recommend(c, rows, {}).status_code == 200
        refused = _recommend(c, rows, {})
        error = assert_error(refused, 429, "3 requests a minute")
        assert error["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60 == error["details"]["window_seconds"]
        assert c.get(f"/v1/items/{rows.iloc[0]['item_id']}").status_code == 200  # another route
    with keyed_client(limited, Scope.WIDGET) as other:  # another key
        assert _recommend(other, rows, {}).status_code == 200
