"""Schemathesis against the OpenAPI schema, with an admin key, on a small budget (CI): every operation,
a few generated requests each, and none may get a 5xx. ``bench/fuzz.py`` runs a larger budget."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from api.db.session import migrate, session_scope
from api.main import create_app
from api.security.principal import Scope
from api.settings import Settings, get_settings
from tests.conftest import bearer, issue_key
from tests.sizing_support import populate, serving_rows, trained_models_dir

EXAMPLES = 3


@pytest.fixture
def api_schema(tmp_path: Path) -> schemathesis.BaseSchema:
    return fuzz_schema(tmp_path)


def fuzz_schema(tmp_path: Path) -> schemathesis.BaseSchema:
    """The real app on a populated, migrated SQLite file and the test model; requests carry an admin key."""
    migrate(f"sqlite:///{tmp_path / 'fitroom.db'}")
    served = Settings(
        state_dir=tmp_path / "state",
        database_url=f"sqlite:///{tmp_path / 'fitroom.db'}",
        models_dir=trained_models_dir(),
        rate_limit_per_minute=100_000,
        avatar_create_per_minute=100_000,
    )
    with session_scope(served.sqlalchemy_url) as session:
        populate(session, serving_rows())
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: served
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.headers = bearer(issue_key(served, Scope.ADMIN))
    return schema


def fuzz(schema: schemathesis.BaseSchema, examples: int) -> tuple[list[str], Counter[int]]:
    """Generated requests for every operation: the 5xx answers found (described) and all statuses."""
    found: list[str] = []
    statuses: Counter[int] = Counter()
    budget = settings(
        max_examples=examples, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    for result in schema.get_all_operations():
        operation = result.ok()

        @budget
        @given(case=operation.as_strategy())
        def probe(case: schemathesis.Case) -> None:
            response = case.call()
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                where = f"{case.method} {case.formatted_path}"
                found.append(f"{where}: {response.status_code} {response.text[:300]}")

        probe()
    return found, statuses


def test_no_server_errors(api_schema: schemathesis.BaseSchema) -> None:
    errors, statuses = fuzz(api_schema, EXAMPLES)
    assert errors == []
    assert statuses[200] + statuses[201] + statuses[204] > 0 and statuses[401] == 0  # the key was sent
