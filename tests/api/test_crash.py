"""Crash safety: real processes killed with SIGKILL in the middle of a large import, of writing the size
model artifact, and of creating an avatar, on SQLite and PostgreSQL. Afterwards the database holds
none of the killed work, no partial file sits where a reader would take it for whole, and a restart
serves normally."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from api.db.avatar_tables import Avatar
from api.db.revision_tables import DataRevision
from api.db.session import session_scope
from api.db.sizing_tables import OrderLine
from api.model_store import load_size_model
from api.security.principal import Scope
from api.settings import Settings
from sizing.schema import TRANSACTION_COLUMNS
from sizing.train import ARTIFACT, DEFAULT_NAME
from tests.conftest import bearer, issue_key, keyed_client
from tests.sizing_support import rtr, rtr_slice, trained_models_dir

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
FITROOM = str(Path(sys.executable).parent / "fitroom")
IMPORT = ["--drop-implausible"]  # RentTheRunway holds a few implausible body values


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "FITROOM_STATE_DIR": str(settings.state_dir),
        "FITROOM_DATABASE_URL": settings.database_url or "",
        "FITROOM_MODELS_DIR": str(settings.models_dir),
        "ANNY_CACHE_DIR": os.environ.get("ANNY_CACHE_DIR", str(VAR / "anny_cache")),
        "FITROOM_AVATAR_CACHE_DIR": os.environ.get("FITROOM_AVATAR_CACHE_DIR", str(VAR / "avatar_cache")),
    }


def _wait(condition: Callable[[], bool], proc: subprocess.Popen, what: str, limit_s: float = 180) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the process ended ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {what} within {limit_s} s")
        time.sleep(0.005)


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _writing(settings: Settings) -> Callable[[], bool]:
    """True while another connection holds an open write transaction on the test database."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")

        def sqlite_busy() -> bool:
            conn = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:
                return True  # "database is locked": the writer holds it
            finally:
                conn.close()

        return sqlite_busy
    engine = create_engine(url)
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
    )

    def postgres_busy() -> bool:
        with engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    return postgres_busy


@pytest.fixture(scope="module")
def big_orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 000 RentTheRunway order lines as a generic orders CSV: a large import, seconds of writing."""
    path = tmp_path_factory.mktemp("orders") / "orders.csv"
    rtr().head(80_000)[[c for c in TRANSACTION_COLUMNS if c != "review_text"]].to_csv(path, index=False)
    return path


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Settings:
    return Settings(state_dir=tmp_path / "state", database_url=database_url, models_dir=trained_models_dir())


def _counts(settings: Settings) -> tuple[int, int]:
    with session_scope(settings.sqlalchemy_url) as session:
        lines = session.scalar(select(func.count()).select_from(OrderLine)) or 0
        revision = session.scalar(select(DataRevision.revision)) or 0
    return lines, revision


def test_import_killed_midway_leaves_nothing(served: Settings, big_orders: Path, tmp_path: Path) -> None:
    assert _counts(served) == (0, 0)
    args = [FITROOM, "sizing", "import", str(big_orders), "--format", "csv", "--kind", "orders", *IMPORT]
    proc = subprocess.Popen(args, env=_env(served), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(_writing(served), proc, "open write transaction")
    time.sleep(0.1)  # inside the write: rows are going in
    _kill(proc)
    assert _counts(served) == (0, 0)  # the import is wholly absent, the revision untouched

    small = tmp_path / "small.csv"
    rtr_slice(300, seed=1)[[c for c in TRANSACTION_COLUMNS if c != "review_text"]].to_csv(small, index=False)
    again = subprocess.run(
        [FITROOM, "sizing", "import", str(small), "--format", "csv", "--kind", "orders", *IMPORT],
        env=_env(served), capture_output=True, text=True, timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert _counts(served) == (300, 1)
    with keyed_client(served, Scope.ANALYTICS) as c:
        assert c.get("/v1/analytics/summary").json()["order_lines"] == 300
        assert c.get("/readyz").status_code == 200


_WRITER = """
import sys
from pathlib import Path
from sizing.train import load, save_artifact
model, _ = load(Path(sys.argv[1]))
out = Path(sys.argv[2])
while True:
    save_artifact(model, out)
"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # files only: one backend is enough
def test_model_write_killed_midway_leaves_a_whole_artifact(served: Settings, tmp_path: Path) -> None:
    source = trained_models_dir() / DEFAULT_NAME
    out = tmp_path / "models" / DEFAULT_NAME
    out.mkdir(parents=True)
    whole = (source / ARTIFACT).read_bytes()
    (out / ARTIFACT).write_bytes(whole)
    for name in ("training.json",):
        if (source / name).exists():
            (out / name).write_bytes((source / name).read_bytes())
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(source), str(out)], env=_env(served))
    partial_growing = lambda: any(p.stat().st_size > 0 for p in out.glob(f".{ARTIFACT}.*.partial"))  # noqa: E731
    _wait(partial_growing, proc, "artifact being written")
    _kill(proc)
    assert hashlib.sha256((out / ARTIFACT).read_bytes()).digest() == hashlib.sha256(whole).digest()
    leftovers = list(out.glob(f".{ARTIFACT}.*.partial"))
    assert leftovers and all(p.stat().st_size < len(whole) for p in leftovers)  # killed mid-write
    models = served.model_copy(update={"models_dir": out.parent})
    assert load_size_model(models).version  # the service loads the whole artifact after the crash


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def uvicorn(served: Settings) -> Iterator[Callable[[], tuple[subprocess.Popen, str]]]:
    procs: list[subprocess.Popen] = []

    def start() -> tuple[subprocess.Popen, str]:
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
            env=_env(served), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(up, proc, "answer on /healthz", 90)
        return proc, url

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_avatar_creation_killed_midway_leaves_no_avatar(served: Settings, uvicorn: Callable) -> None:
    key = bearer(issue_key(served, Scope.SHOPPER))
    body = {"stature_cm": 170, "body_mass_kg": 64, "sex": "female"}
    proc, url = uvicorn()
    folder = served.artifact_dir / "avatars"

    def send() -> None:
        try:
            httpx.post(f"{url}/v1/avatars", json=body, headers=key, timeout=120)
        except httpx.HTTPError:
            pass  # the server dies under it

    threading.Thread(target=send, daemon=True).start()
    _wait(lambda: folder.is_dir() and any(folder.glob(".*.partial")), proc, "avatar staging folder")
    _kill(proc)
    with session_scope(served.sqlalchemy_url) as session:
        assert session.scalar(select(func.count()).select_from(Avatar)) == 0
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == []  # no whole-looking folder

    _, url = uvicorn()  # restart on the same state and database
    created = httpx.post(f"{url}/v1/avatars", json=body, headers=key, timeout=120)
    assert created.status_code == 201, created.text
    assert httpx.get(f"{url}/v1/avatars/{created.json()['id']}", headers=key).status_code == 200
    assert httpx.get(f"{url}/readyz").status_code == 200
