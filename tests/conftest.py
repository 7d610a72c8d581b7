"""Shared fixtures: a fresh SQLite or PostgreSQL database per test, and a client on real settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.db.session import migrate
from api.main import create_app
from api.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


def _postgres_url() -> str | None:
    """A reachable PostgreSQL admin URL, or None (the caller skips with the reason)."""
    url = os.environ.get("FITROOM_TEST_POSTGRES_URL")
    if not url:
        return None
    try:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return None
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fitroom.db'}"
        migrate(url)
        yield url
        return
    admin = _postgres_url()
    if admin is None:
        pytest.skip("PostgreSQL not reachable at FITROOM_TEST_POSTGRES_URL")
    name = f"fitroom_test_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(
        admin.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    migrate(Settings(database_url=url).sqlalchemy_url)
    yield url
    from api.db.session import get_engine

    get_engine(Settings(database_url=url).sqlalchemy_url).dispose()
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Real settings pointed at a temporary state folder and the test database."""
    return Settings(state_dir=tmp_path / "state", database_url=database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
