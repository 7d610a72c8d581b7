"""The real service on a loopback port and one headless Chromium for the whole web test session.

The database is a temporary SQLite file holding real RentTheRunway orders (imported through the
generic CSV importer, so they carry their fit feedback) and a size chart imported with
``fitroom sizing import --kind size_charts``; the size model is the quickly trained test model.
Every page runs offline: any request that leaves the service's origin is aborted and recorded, and
each test asserts there were none.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from api import cli
from api.db.session import migrate, session_scope
from api.security.keys import create_key
from api.security.principal import Scope
from api.settings import get_settings
from tests.sizing_support import rtr, rtr_slice, trained_models_dir

pw = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
]
CHART_CSV = Path(__file__).with_name("size_chart.csv")
CHART_ITEM = "rtr:126335"  # the busiest item of the slice; size_chart.csv gives it sizes 4, 8, 12, 16
PLAIN_ITEM = "rtr:174086"  # sold in the slice, no size chart
ORDER_COLUMNS = [
    "order_id", "shopper_id", "item_id", "size", "ordered_at", "category", "brand", "stature_cm",
    "body_mass_kg", "bust_girth_cm", "waist_girth_cm", "hip_girth_cm", "bra_band", "cup", "body_type",
    "age_years", "fit",
]  # fmt: skip
#: RentTheRunway ships no brands; the test shop gives its busy items two, by how their buyers found them
SNUG, ROOMY = "Snug & Co", "Roomy Label"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    url: str
    env: dict[str, str]
    state_dir: Path
    admin: dict[str, str]  # the Authorization header of an admin key, for the tests' own API calls
    analytics_key: str  # the dashboard's sign-in key


def _env(state: Path, db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "FITROOM_STATE_DIR": str(state),
        "FITROOM_DATABASE_URL": db_url,
        "FITROOM_MODELS_DIR": str(trained_models_dir()),
        # the body model's and the girth loops' caches built by set-up (not rebuilt per test run)
        "ANNY_CACHE_DIR": os.environ.get("ANNY_CACHE_DIR", str(VAR / "anny_cache")),
        "FITROOM_AVATAR_CACHE_DIR": os.environ.get("FITROOM_AVATAR_CACHE_DIR", str(VAR / "avatar_cache")),
    }


def _shop_rows() -> pd.DataFrame:
    """The busy items' slice the test model is trained on, plus every order of 150 frequent shoppers
    (so the size-offset view has shoppers with a size history)."""
    frame = rtr()
    counts = frame["shopper_id"].value_counts()
    regulars = frame[frame["shopper_id"].isin(counts[counts >= 15].index[:150])]
    rows = pd.concat([rtr_slice(4000, seed=4), regulars]).drop_duplicates("order_id")
    return rows.assign(brand=rows["item_id"].map(_brands(rows)))


def _brands(rows: pd.DataFrame) -> dict[str, str]:
    """The ten busiest items whose buyers most often found them too small are Snug & Co's, the ten
    most often too large Roomy Label's (so the brands run small and large in the model's offsets)."""
    busy = rows.groupby("item_id").filter(lambda g: len(g) >= 40)
    lean = (busy["fit"] == "small").groupby(busy["item_id"]).mean() - (busy["fit"] == "large").groupby(
        busy["item_id"]
    ).mean()
    ranked = lean.sort_values().index
    return {**dict.fromkeys(ranked[-10:], SNUG), **dict.fromkeys(ranked[:10], ROOMY)}


def _cli(env: dict[str, str], *args: str) -> None:
    """Run a real ``fitroom`` command in this process, on the settings in ``env``."""
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, list(args), env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """uvicorn serving ``api.main:app`` on a free loopback port, on its own database and state folder."""
    if not (ROOT / "web" / "dist" / "widget.js").is_file():
        pytest.fail("web assets not built: run `cd web && npm ci && npm run build` (scripts/setup.sh)")
    state = tmp_path_factory.mktemp("web-state")
    db_url = f"sqlite:///{state / 'fitroom.db'}"
    migrate(db_url)
    env = _env(state, db_url)
    orders = state / "orders.csv"
    _shop_rows().reindex(columns=ORDER_COLUMNS).to_csv(orders, index=False)
    for path, kind in ((orders, "orders"), (CHART_CSV, "size_charts")):
        _cli(env, "sizing", "import", str(path), "--format", "csv", "--kind", kind)
    _cli(env, "keys", "local")  # the admin key, and the widget key the demo page hands to the widget
    admin = {"Authorization": f"Bearer {(state / 'keys' / 'admin.key').read_text().strip()}"}
    with session_scope(db_url) as session:
        analytics_key = create_key(session, Scope.ANALYTICS, name="web tests").key
    port = _free_port()
    log = (state / "uvicorn.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"uvicorn exited: {(state / 'uvicorn.log').read_text()[-2000:]}")
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("uvicorn did not answer /healthz within 60 s")
    yield Service(url, env, state, admin, analytics_key)
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, with SwiftShader WebGL; fails at once if WebGL is unavailable."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed at /usr/bin/chromium (scripts/setup.sh installs it as root)")
    with pw.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        probe = chromium.new_page()
        webgl = probe.evaluate(
            "() => { const c = document.createElement('canvas');"
            " const gl = c.getContext('webgl2') || c.getContext('webgl');"
            " return gl ? gl.getParameter(gl.VERSION) : null; }"
        )
        probe.close()
        if not webgl:
            chromium.close()
            pytest.fail("WebGL is unavailable in headless Chromium (launched with SwiftShader flags)")
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """One browser page on the service, with what it tried to fetch elsewhere and its script errors."""

    page: object
    base: str
    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)  # type: ignore[attr-defined]


@pytest.fixture
def visit(browser: object, service: Service) -> Iterator[Visit]:
    """A fresh context (own storage, downloads allowed) that may reach only the service."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    seen = Visit(page, service.url)

    def offline(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(service.url) or url.startswith(("blob:", "data:")):
            route.continue_()  # type: ignore[attr-defined]
        else:
            seen.external.append(url)
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", offline)
    context.add_cookies(
        [  # signed in to the dashboard (as /sign-in would have done)
            {
                "name": "fitroom_analytics",
                "value": service.analytics_key,
                "url": service.url,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    page.set_default_timeout(30_000)
    yield seen
    context.close()
    assert not seen.external, f"pages reached outside the service: {seen.external}"
