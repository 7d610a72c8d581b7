"""Shared fixtures: a fresh SQLite or PostgreSQL database per test (copied from a template migrated
once per session), API keys issued in it, and a client on real settings carrying an admin key."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from api import cli
from api.db.session import get_engine, migrate, session_scope
from api.main import create_app
from api.security.keys import create_key
from api.security.principal import Scope
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


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test copies it (the migration once, not per test)."""
    path = tmp_path_factory.mktemp("template") / "fitroom.db"
    url = f"sqlite:///{path}"
    migrate(url)
    get_engine(url).dispose()  # checkpoints the WAL into the file before it is copied
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, str] | None]:
    """(admin URL, template database name): migrated once; tests CREATE DATABASE … TEMPLATE it."""
    admin = _postgres_url()
    if admin is None:
        yield None
        return
    name = f"fitroom_tmpl_{uuid.uuid4().hex[:12]}"
    engine = create_engine(_psycopg(admin), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = _psycopg(make_url(admin).set(database=name).render_as_string(hide_password=False))
    migrate(url)
    get_engine(url).dispose()  # a template must have no open connections
    yield admin, name
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "fitroom.db")
        yield f"sqlite:///{tmp_path / 'fitroom.db'}"
        return
    template = request.getfixturevalue("postgres_template")
    if template is None:
        pytest.skip("PostgreSQL not reachable at FITROOM_TEST_POSTGRES_URL")
    admin, template_name = template
    name = f"fitroom_test_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(_psycopg(admin), isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    yield url
    get_engine(Settings(database_url=url).sqlalchemy_url).dispose()
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


def issue_key(settings: Settings, scope: Scope, origins: list[str] | None = None) -> str:
    """A real key of ``scope`` stored in the test database (the way ``fitroom keys create`` does)."""
    with session_scope(settings.sqlalchemy_url) as session:
        return create_key(session, scope, name=f"test {scope.value}", origins=origins).key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def run_cli(settings: Settings, *args: str, expect: int = 0) -> str:
    """A real ``fitroom`` command in this process on ``settings``' database and state; its output."""
    env = {"FITROOM_DATABASE_URL": settings.database_url or "", "FITROOM_STATE_DIR": str(settings.state_dir)}
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, list(args), env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == expect, result.output
    return result.output


def keyed_client(settings: Settings, scope: Scope | None = Scope.ADMIN) -> TestClient:
    """A client on ``settings`` sending a fresh key of ``scope`` (None: no key); enter it with ``with``."""
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    headers = bearer(issue_key(settings, scope)) if scope is not None else {}
    return TestClient(app, raise_server_exceptions=False, headers=headers)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Real settings pointed at a temporary state folder and the test database."""
    return Settings(state_dir=tmp_path / "state", database_url=database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client with an admin key: for tests about something other than access control."""
    with keyed_client(settings) as c:
        yield c
