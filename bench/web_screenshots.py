"""Screenshots of the three web pages for the docs: ``python -m bench.web_screenshots [--url URL]``.

Drives each page as its user would, in Debian's headless Chromium: the studio builds an avatar from
``data/faces/frontal_female_astronaut_collins.png`` at 168 cm / 60 kg and shows the fit map of the
first item with a size chart (if any); the demo shop page asks the widget for a size; the dashboard
loads all its views. PNGs go to ``docs/img/`` (``web_studio.png``, ``web_widget.png``,
``web_widget_zh.png``, ``web_dashboard.png``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from bench.web import ARGS, CHROMIUM, ROOT, _service, admin_key, busiest_item, signed_in

log = logging.getLogger(__name__)
PHOTO = ROOT / "data" / "faces" / "frontal_female_astronaut_collins.png"


def studio(page: Page, base: str, key: str, out: Path) -> None:
    page.goto(f"{base}/studio")
    page.set_input_files("#photo", str(PHOTO))
    page.fill("#stature", "168")
    page.fill("#mass", "60")
    page.click("#create")
    page.wait_for_selector("#viewer[data-loaded]", timeout=180_000)
    auth = {"Authorization": f"Bearer {key}"}
    items = httpx.get(f"{base}/v1/items", params={"limit": 50}, headers=auth).json()["data"]
    charted = [i for i in items if i["chart_measurements"]]
    if charted:
        page.select_option("#fm-item", charted[0]["item_id"])
        page.wait_for_selector("#fitmap[data-state=shown]", timeout=60_000)
        page.wait_for_selector("#viewer[data-loaded*='fitmap']")
    page.click("#bundle-make")
    page.wait_for_selector("#bundle-download:not([hidden])", timeout=180_000)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(out / "web_studio.png"), full_page=True)


def widget(page: Page, base: str, out: Path, item: str) -> None:
    for lang, name, labels in (("en", "web_widget.png", ("Height (cm)", "Weight (kg)", "Recommend my size")),
                               ("zh-CN", "web_widget_zh.png", ("身高 (cm)", "体重 (kg)", "推荐尺码"))):
        page.goto(f"{base}/demo/product/{item}?lang={lang}")
        box = page.locator("[data-fitroom-item]")
        box.get_by_label(labels[0]).fill("168")
        box.get_by_label(labels[1]).fill("60")
        box.get_by_role("button", name=labels[2]).click()
        box.locator(".rec-size, [role=alert]").first.wait_for(timeout=60_000)
        page.screenshot(path=str(out / name), full_page=True)


def dashboard(page: Page, base: str, out: Path) -> None:
    page.goto(f"{base}/dashboard")
    page.wait_for_selector("body[data-state=ready]", timeout=120_000)
    page.screenshot(path=str(out / "web_dashboard.png"), full_page=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="A running service (default: start one with the default settings).")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="Folder for the PNGs.")
    parser.add_argument("--key", help="An admin key (default: the local one under state_dir/keys).")
    args = parser.parse_args(argv)
    key = admin_key(args.key)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    with _service(args.url) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = signed_in(browser, base, key, viewport={"width": 1280, "height": 900}).new_page()
        studio(page, base, key, args.out)
        widget(page, base, args.out, busiest_item(base, key))
        dashboard(page, base, args.out)
        browser.close()
    log.info("screenshots in %s", args.out)


if __name__ == "__main__":
    main()
