"""The avatar studio in real Chromium: photo avatar, 3D viewer, measurements, bundle, fit map, delete."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.web.conftest import CHART_ITEM, PLAIN_ITEM, ROOT, Service, Visit

FACES = ROOT / "data" / "faces"
BACKGROUND = np.array([233, 237, 241])  # the viewer's clear colour (0xe9edf1)


def _canvas(visit: Visit) -> np.ndarray:
    png = visit.page.locator("#viewer canvas").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def _body_share(pixels: np.ndarray) -> float:
    """Share of the canvas that is not the clear colour: a blank canvas gives 0."""
    return float((np.abs(pixels - BACKGROUND).sum(axis=2) > 30).mean())


def _fill_body(visit: Visit, stature: str = "168", mass: str = "60") -> None:
    visit.page.fill("#stature", stature)
    visit.page.fill("#mass", mass)


@pytest.fixture
def studio(visit: Visit) -> Visit:
    visit.goto("/studio")
    return visit


def test_photo_avatar_end_to_end(studio: Visit, service: Service) -> None:
    page = studio.page
    page.set_input_files("#photo", str(FACES / "frontal_female_astronaut_collins.png"))
    _fill_body(studio)
    page.click("#create")
    page.wait_for_selector("#viewer[data-loaded]", timeout=90_000)

    # the 3D viewer shows a body: a large, varied non-background area, not a blank canvas
    front = _canvas(studio)
    assert 0.04 < _body_share(front) < 0.6, _body_share(front)
    assert front.std() > 12

    # orbit by dragging, then "reset to front" brings the front view back
    box = page.locator("#viewer canvas").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 220, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    turned = _canvas(studio)
    assert np.abs(turned - front).mean() > 2
    page.click("#reset-view")
    assert np.abs(_canvas(studio) - front).mean() < 1

    # measurements: given, predicted with an interval, achieved
    stature = page.locator("#measurements tr[data-name=stature_cm] td")
    assert stature.nth(0).inner_text() == "168.0 cm"
    waist = page.locator("#measurements tr[data-name=waist_girth_cm] td")
    assert waist.nth(0).inner_text() == "–" and "(" in waist.nth(1).inner_text()
    assert waist.nth(2).inner_text().endswith("cm")

    # the try-on bundle: previewed, then downloaded as the API's zip
    page.click("#bundle-make")
    page.wait_for_selector("#bundle-download:not([hidden])", timeout=90_000)
    assert page.locator("#bundle-preview canvas").count() == 2
    with page.expect_download() as info:
        page.click("#bundle-download")
    names = set(zipfile.ZipFile(info.value.path()).namelist())
    assert {"person.png", "mask_upper.png", "keypoints.json", "params.json"} <= names

    # the fit map colours the body from the chart; switching sizes changes the colours and the note
    avatar_id = page.evaluate("() => localStorage.getItem('fitroom.avatar_id')")
    page.select_option("#fm-item", CHART_ITEM)
    page.wait_for_selector("#fitmap[data-state=shown]")
    page.select_option("#fm-size", "4")
    page.wait_for_function("() => document.querySelector('#fm-note').innerText.startsWith('Size 4 ')")
    page.wait_for_selector("#viewer[data-loaded*='size=4']")
    small = _canvas(studio)
    page.select_option("#fm-size", "16")
    page.wait_for_selector("#viewer[data-loaded*='size=16']")
    large = _canvas(studio)
    assert np.abs(small - large).mean() > 1
    assert page.locator("#fm-legend .legend-scale span").first.inner_text().endswith("cm")
    ease = httpx.get(
        f"{service.url}/v1/avatars/{avatar_id}/fitmap",
        params={"item_id": CHART_ITEM, "size": "16"},
        headers=service.admin,
    ).json()
    for region in ease["regions"]:
        assert region["region"] in page.locator("#fm-note").inner_text()
    page.select_option("#fm-item", PLAIN_ITEM)
    page.wait_for_selector("#fitmap[data-state=unavailable]")
    assert "has no size chart" in page.locator("#fm-note").inner_text()

    # delete: the page says so, and the service no longer has the avatar or its files
    page.click("#delete")
    page.wait_for_selector("#deleted:not([hidden])")
    assert "deleted" in page.locator("#deleted").inner_text()
    assert httpx.get(f"{service.url}/v1/avatars/{avatar_id}", headers=service.admin).status_code == 404
    assert not list(service.state_dir.rglob(f"*{avatar_id}*"))
    assert page.evaluate("() => localStorage.getItem('fitroom.avatar_id')") is None
    assert not studio.errors


def test_a_photo_without_a_face_shows_the_apis_message(studio: Visit, service: Service) -> None:
    photo = FACES / "noface_rocket.jpg"
    api = httpx.post(
        f"{service.url}/v1/avatars",
        headers=service.admin,
        files={"photo": (photo.name, photo.read_bytes(), "image/jpeg")},
        data={"body": json.dumps({"stature_cm": 168, "body_mass_kg": 60})},
        timeout=60,
    ).json()["error"]
    assert api["code"] == "no_face"
    studio.page.set_input_files("#photo", str(photo))
    _fill_body(studio)
    studio.page.click("#create")
    studio.page.wait_for_function("() => document.querySelector('#photo-error').innerText !== ''")
    assert studio.page.locator("#photo-error").inner_text() == api["message"]
    assert studio.page.locator("#result").is_hidden()


def test_live_validation_shows_the_apis_ranges(studio: Visit, service: Service) -> None:
    page = studio.page
    _fill_body(studio, stature="300")
    page.wait_for_function("() => document.querySelector('#err-stature_cm').innerText !== ''")
    api = httpx.post(
        f"{service.url}/v1/avatars", json={"stature_cm": 300, "body_mass_kg": 60}, headers=service.admin
    ).json()
    assert page.locator("#err-stature_cm").inner_text() == api["error"]["message"]
    assert page.locator("#create").is_disabled()
    page.fill("#stature", "168")
    page.wait_for_function("() => document.querySelector('#err-stature_cm').innerText === ''")
    assert page.locator("#create").is_enabled()
    # imperial: 5 ft 6 in and 500 lb is a BMI the API refuses, named on the weight field
    page.check("input[name=units][value=imperial]")
    page.fill("#stature-ft", "5")
    page.fill("#stature-in", "6")
    page.fill("#mass", "500")
    page.wait_for_function("() => document.querySelector('#err-body_mass_kg').innerText.includes('BMI')")
    page.fill("#mass", "132")
    page.wait_for_function("() => document.querySelector('#err-body_mass_kg').innerText === ''")


def test_the_photo_input_offers_the_front_camera(studio: Visit) -> None:
    photo = studio.page.locator("#photo")
    assert photo.get_attribute("capture") == "user"
    assert photo.get_attribute("accept") == "image/*"
