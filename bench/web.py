"""Web pages benchmark (a script, not a timed test): ``python -m bench.web [--url URL] [--runs N]``.

Measures, in Debian's headless Chromium against a local service (started here on a free port with
the default settings, i.e. the full RentTheRunway data set-up imported, unless ``--url`` is given):
- page weight: bytes of every same-origin file a page loads before it is usable, raw and gzipped
  (uvicorn serves them uncompressed; gzip is what a compressing proxy would send);
- the widget: its script gzipped, and the time from the script's arrival to the widget shown;
- time to interactive of the studio and of the dashboard (all views drawn), from navigation start;
- each dashboard view's ``/v1/analytics`` request time (the issue's target: under 1 s each).
Medians over ``--runs`` fresh browser contexts (cold caches). The dashboard and the API calls use an
admin key (``--key``; default: the local one under ``state_dir/keys``, made here if missing).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, sync_playwright

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox",
        "--disable-background-networking", "--disable-component-update"]
SINCE_NAVIGATION = "name => performance.getEntriesByName(name)[0]?.startTime ?? null"
WIDGET_AFTER_SCRIPT = """() => {
  const script = performance.getEntriesByType('resource').find(e => e.name.endsWith('/widget.js'));
  const shown = performance.getEntriesByName('fitroom:widget-shown')[0];
  return script && shown ? shown.startTime - script.responseEnd : null;
}"""
ANALYTICS_TIMES = """() => performance.getEntriesByType('resource')
  .filter(e => e.name.includes('/v1/analytics/')).map(e => [new URL(e.name).pathname, e.duration])"""


@contextmanager
def _service(url: str | None) -> Iterator[str]:
    """The given service, or ``uvicorn api.main:app`` on the settings' port (the local widget key is
    bound to it) with the default settings."""
    if url:
        yield url.rstrip("/")
        return
    from api.settings import get_settings

    port = get_settings().port
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is in use: stop that service or pass --url")
    cmd = [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError("the service did not answer /healthz within 120 s")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def admin_key(given: str | None) -> str:
    """``given``, else the local admin key of the default settings (created if missing)."""
    if given:
        return given
    from api.security.local_keys import ensure_local_keys
    from api.settings import get_settings

    return ensure_local_keys(get_settings()).admin.read_text().strip()


def signed_in(browser: Browser, base: str, key: str, **options: Any) -> BrowserContext:
    """A fresh context holding the key as the pages' own cookie would (the dashboard's sign-in)."""
    context = browser.new_context(**options)
    context.add_cookies([{"name": "fitroom_analytics", "value": key, "url": base, "httpOnly": True}])
    return context


def busiest_item(base: str, key: str) -> str:
    auth = {"Authorization": f"Bearer {key}"}
    items = httpx.get(f"{base}/v1/items", params={"limit": 1}, headers=auth, timeout=60).json()["data"]
    if not items:
        raise RuntimeError("no items in the database: run `fitroom setup` or `fitroom sizing import`")
    return str(items[0]["item_id"])


def _visit(browser: Browser, base: str, key: str, path: str, ready: str) -> dict[str, Any]:
    """One cold visit: same-origin page files (not API data) and the page's timing marks."""
    context = signed_in(browser, base, key)
    page = context.new_page()
    files: dict[str, int] = {}

    def record(response: Any) -> None:
        url = response.url
        if url.startswith(base) and "/v1/" not in url and response.ok:
            files[url] = len(response.body())

    page.on("response", record)
    page.goto(base + path)
    page.wait_for_function(f"() => performance.getEntriesByName('{ready}').length > 0", timeout=60_000)
    page.wait_for_load_state("networkidle")
    marks = {
        "ready_ms": page.evaluate(SINCE_NAVIGATION, ready),
        "widget_after_script_ms": page.evaluate(WIDGET_AFTER_SCRIPT),
        "analytics_ms": page.evaluate(ANALYTICS_TIMES),
    }
    context.close()
    return {"files": files, **marks}


def _weight(base: str, files: dict[str, int]) -> dict[str, int]:
    gz = sum(len(gzip.compress(httpx.get(url, timeout=30).content, 6)) for url in files)
    return {"files": len(files), "bytes": sum(files.values()), "gzip_bytes": gz}


def run(url: str | None = None, runs: int = 5, key: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": runs}
    key = admin_key(key)
    with _service(url) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pages = {
            "studio": ("/studio", "fitroom:studio-ready"),
            "dashboard": ("/dashboard", "fitroom:dashboard-ready"),
            "demo_widget": (f"/demo/product/{busiest_item(base, key)}", "fitroom:widget-shown"),
        }
        for name, (path, mark) in pages.items():
            log.info("visiting %s %d times", path, runs)
            visits = [_visit(browser, base, key, path, mark) for _ in range(runs)]
            entry: dict[str, Any] = {
                "path": path,
                "weight": _weight(base, visits[0]["files"]),
                "ready_ms_median": statistics.median(v["ready_ms"] for v in visits),
            }
            if name == "demo_widget":
                entry["widget_after_script_ms_median"] = statistics.median(
                    v["widget_after_script_ms"] for v in visits
                )
            if name == "dashboard":
                per_view: dict[str, list[float]] = {}
                for v in visits:
                    for route, ms in v["analytics_ms"]:
                        per_view.setdefault(route, []).append(ms)
                medians = {k: round(statistics.median(ms), 1) for k, ms in per_view.items()}
                entry["analytics_ms_median"] = medians
                entry["analytics_ms_max"] = {k: round(max(ms), 1) for k, ms in per_view.items()}
            out[name] = entry
        browser.close()
        widget = httpx.get(f"{base}/widget.js").content
        out["widget_js"] = {"bytes": len(widget), "gzip_bytes": len(gzip.compress(widget, 6))}
    return out


def report(out: dict[str, Any]) -> None:
    """One line per figure on stderr (the JSON goes to stdout)."""
    w = out["widget_js"]
    lines = [f"widget.js: {w['bytes'] / 1024:.1f} kB, {w['gzip_bytes'] / 1024:.1f} kB gzipped"]
    for name in ("studio", "dashboard", "demo_widget"):
        e = out[name]
        lines.append(
            f"{name} {e['path']}: {e['weight']['files']} files, {e['weight']['bytes'] / 1024:.0f} kB "
            f"({e['weight']['gzip_bytes'] / 1024:.0f} kB gzipped); ready {e['ready_ms_median']:.0f} ms "
            f"after navigation (median of {out['runs']})"
        )
    shown = out["demo_widget"]["widget_after_script_ms_median"]
    lines.append(f"widget shown {shown:.0f} ms after its script arrived")
    worst = max(out["dashboard"]["analytics_ms_max"].items(), key=lambda kv: kv[1])
    lines.append(f"slowest dashboard view request: {worst[0]} {worst[1]:.0f} ms (max over runs)")
    for line in lines:
        log.info(line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="A running service (default: start one with the default settings).")
    parser.add_argument("--runs", type=int, default=5, help="Cold visits per page (median reported).")
    parser.add_argument("--key", help="An admin key (default: the local one under state_dir/keys).")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = run(args.url, args.runs, args.key)
    report(out)
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
