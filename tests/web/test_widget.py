"""The size widget on the demo product page, in real Chromium against the real service and model."""

from __future__ import annotations

import re

import httpx

from tests.web.conftest import CHART_ITEM, ROOMY, SNUG, Service, Visit, pw

WIDGET = "[data-fitroom-item]"
# WCAG AA contrast of a widget element's text against the first opaque background behind it
CONTRAST = """el => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = c => {
    const lin = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const [r, g, b] = c.slice(0, 3).map(lin);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  let bg = el, back;
  while (bg) {
    const c = rgb(getComputedStyle(bg).backgroundColor);
    if (c.length < 4 || c[3] > 0) { back = c; break; }
    bg = bg.parentElement || bg.getRootNode().host;
  }
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(back || [255, 255, 255])];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def _offered(service: Service, item_id: str) -> list[str]:
    return list(httpx.get(f"{service.url}/v1/items/{item_id}", headers=service.admin).json()["sizes"])


def test_known_item_shows_a_size_from_height_and_weight(visit: Visit, service: Service) -> None:
    visit.goto(f"/demo/product/{CHART_ITEM}")
    widget = visit.page.locator(WIDGET)
    widget.get_by_label("Height (cm)").fill("168")
    widget.get_by_label("Weight (kg)").fill("60")
    for selector in ("label", "button.primary", ".units button"):
        assert widget.locator(selector).first.evaluate(CONTRAST) >= 4.5, selector
    widget.get_by_role("button", name="Recommend my size").click()
    size = widget.locator(".rec-size").inner_text()
    assert size in _offered(service, CHART_ITEM)
    bars = widget.locator(".bars li")
    assert bars.count() == len(_offered(service, CHART_ITEM))
    assert "likely to fit" in widget.locator(".answer").inner_text()
    body = {"item_id": CHART_ITEM, "measurements": {"stature_cm": 168, "body_mass_kg": 60}}
    api = httpx.post(f"{service.url}/v1/sizes/recommend", json=body, headers=service.admin).json()
    assert size == api["recommended_size"]
    assert widget.locator(".reasons li").all_inner_texts() == api["explanation"]
    for selector in (".answer", "button.link", ".legend"):
        assert widget.locator(selector).first.evaluate(CONTRAST) >= 4.5, selector
    # the shop's aggressive CSS (red, 30 px on every div/p/button) does not reach into the shadow root
    assert widget.locator(".answer").evaluate("e => getComputedStyle(e).color") != "rgb(204, 0, 0)"
    assert not visit.errors


def test_unknown_item_leaves_no_trace(visit: Visit) -> None:
    visit.goto("/demo/product/rtr:does-not-exist")
    visit.page.wait_for_load_state("networkidle")
    assert visit.page.locator(WIDGET).is_hidden()
    assert visit.page.locator(WIDGET).bounding_box() is None  # no gap in the shop's layout
    assert not visit.errors


def test_host_page_keeps_working_when_the_api_is_down(visit: Visit) -> None:
    visit.page.route("**/v1/**", lambda route: route.abort())
    visit.goto(f"/demo/product/{CHART_ITEM}")
    visit.page.wait_for_load_state("networkidle")
    assert visit.page.locator(WIDGET).is_hidden()
    visit.page.click("#add-to-bag")
    assert visit.page.locator("#bag-status").inner_text() == "Added to bag"
    assert not visit.errors


def test_keyboard_alone_gets_a_size(visit: Visit, service: Service) -> None:
    visit.goto(f"/demo/product/{CHART_ITEM}")
    widget = visit.page.locator(WIDGET)
    widget.get_by_label("Height (cm)").wait_for()
    visit.page.focus("#add-to-bag")
    keys = visit.page.keyboard
    keys.press("Tab")  # the metric units button
    keys.press("Tab")  # the imperial units button
    keys.press("Enter")  # switch to ft-in / lb; the focus stays on that button
    widget.get_by_label("Height (ft)").wait_for()
    assert widget.get_by_role("radio", name="ft-in / lb").get_attribute("aria-checked") == "true"
    for text in ("5", "6", "132"):  # feet, inches, pounds
        keys.press("Tab")
        keys.press("Control+A")
        keys.type(text)
    keys.press("Enter")  # submits the form from the weight field
    size = widget.locator(".rec-size").inner_text()
    assert size in _offered(service, CHART_ITEM)


def _recommend(service: Service, **body: object) -> dict:
    r = httpx.post(
        f"{service.url}/v1/sizes/recommend", json={"item_id": CHART_ITEM, **body}, headers=service.admin
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_simplified_chinese_from_the_page_language(visit: Visit, service: Service) -> None:
    """The widget's own words and the API's reasons, including the brand she knows, are Chinese."""
    visit.goto(f"/demo/product/{CHART_ITEM}?lang=zh-CN")
    widget = visit.page.locator(WIDGET)
    assert widget.get_by_role("heading").inner_text() == "找到您的尺码"
    assert widget.get_by_role("button", name="推荐尺码").is_visible()
    widget.get_by_label("身高 (cm)").fill("168")
    widget.get_by_label("体重 (kg)").fill("60")
    widget.get_by_label("您熟悉的品牌（可选）").fill(SNUG)
    widget.get_by_label("您在该品牌穿的尺码").fill("8")
    widget.get_by_role("button", name="推荐尺码").click()
    assert widget.locator(".answer").inner_text().startswith("推荐尺码")
    reasons = widget.locator(".reasons li").all_inner_texts()
    body = {"stature_cm": 168, "body_mass_kg": 60}
    api = _recommend(service, measurements=body, known_size={"brand": SNUG, "size": "8"}, lang="zh-CN")
    assert reasons == api["explanation"]
    assert any(r.startswith(f"您在 {SNUG} 穿 8 码") for r in reasons), reasons
    for reason, message in zip(reasons, api["explanation_messages"], strict=True):
        data = [
            str(v)
            for k, v in message["params"].items()
            if k in ("size", "sizes", "brand", "label", "category", "usual", "suggested")
        ]
        rest = reason
        for value in data:
            rest = rest.replace(value, "")
        assert re.search(r"[\u4e00-\u9fff]", reason) and not re.search(r"[A-Za-z]", rest), reason


def test_the_size_she_wears_in_a_brand_she_knows(visit: Visit, service: Service) -> None:
    """The brand picker lists the service's brands; the answer is the API's for that known size."""
    visit.goto(f"/demo/product/{CHART_ITEM}")
    widget = visit.page.locator(WIDGET)
    widget.get_by_label("Height (cm)").fill("168")
    widget.get_by_label("Weight (kg)").fill("60")
    brand = widget.get_by_label("A brand you know (optional)")
    options = widget.locator("datalist option")
    options.first.wait_for(state="attached")
    assert {SNUG, ROOMY} <= set(options.evaluate_all("os => os.map(o => o.value)"))
    assert brand.get_attribute("list") == widget.locator("datalist").get_attribute("id")
    brand.fill(ROOMY)
    widget.get_by_label("Your size in that brand").fill("8")
    widget.get_by_role("button", name="Recommend my size").click()
    size = widget.locator(".rec-size").inner_text()
    api = _recommend(service, measurements={"stature_cm": 168, "body_mass_kg": 60},
                     known_size={"brand": ROOMY, "size": "8"})  # fmt: skip
    assert size == api["recommended_size"]
    assert widget.locator(".reasons li").all_inner_texts() == api["explanation"]
    assert any(line.startswith(f"you wear 8 in {ROOMY}") for line in api["explanation"])
    assert api["reasons"]["usual_from"] == "known_size"
    assert not visit.errors


def test_a_known_size_the_service_cannot_use_is_named_at_its_field(visit: Visit) -> None:
    visit.goto(f"/demo/product/{CHART_ITEM}")
    widget = visit.page.locator(WIDGET)
    widget.get_by_label("Height (cm)").fill("168")
    widget.get_by_label("Weight (kg)").fill("60")
    brand = widget.get_by_label("A brand you know (optional)")
    brand.fill("No Such Brand")
    widget.get_by_role("button", name="Recommend my size").click()  # no size: said before any request
    alert = widget.get_by_role("alert")
    pw.expect(alert).to_have_text("Enter your size in that brand, or clear the brand.")
    size = widget.get_by_label("Your size in that brand")
    assert size.get_attribute("aria-invalid") == "true"
    size.fill("8")
    widget.get_by_role("button", name="Recommend my size").click()  # the API: 404 known_size.brand
    pw.expect(alert).to_have_text("We do not know this brand: pick one from the list, or clear it.")
    assert brand.get_attribute("aria-invalid") == "true" and brand.evaluate(
        "e => e === e.getRootNode().activeElement"
    )
    assert widget.get_by_label("Height (cm)").input_value() == "168"  # what she typed is kept
    brand.fill(SNUG)
    size.fill("banana")
    widget.get_by_role("button", name="Recommend my size").click()  # the API: 422 known_size.size
    pw.expect(alert).to_have_text("We do not recognise this size (for example 8, M, UK 12, EU 38).")
    assert alert.evaluate(CONTRAST) >= 4.5
    assert not visit.errors


def test_update_follows_a_single_page_shop(visit: Visit) -> None:
    visit.goto(f"/demo/product/{CHART_ITEM}")
    widget = visit.page.locator(WIDGET)
    widget.get_by_label("Height (cm)").wait_for()
    visit.page.evaluate(
        "() => { document.querySelector('[data-fitroom-item]').dataset.fitroomItem = 'rtr:gone';"
        " window.fitroom.update(); }"
    )
    widget.wait_for(state="hidden")
    visit.page.evaluate(
        f"() => {{ document.querySelector('[data-fitroom-item]').dataset.fitroomItem = '{CHART_ITEM}';"
        " window.fitroom.update(); }"
    )
    widget.get_by_label("Height (cm)").wait_for()
    # the shop moves on before the unknown item's 404 arrives: that late answer must not hide the new one
    visit.page.evaluate(
        "() => { const f = window.fetch; window.fetch = (u, o) => String(u).includes('rtr%3Agone')"
        " ? new Promise((r) => setTimeout(r, 1500)).then(() => f(u, o)) : f(u, o); }"
    )
    visit.page.evaluate(
        "() => { document.querySelector('[data-fitroom-item]').dataset.fitroomItem = 'rtr:gone';"
        " window.fitroom.update(); }"
    )
    visit.page.evaluate(
        f"() => {{ document.querySelector('[data-fitroom-item]').dataset.fitroomItem = '{CHART_ITEM}';"
        " window.fitroom.update(); }"
    )
    widget.get_by_label("Height (cm)").wait_for()
    visit.page.wait_for_timeout(2500)
    assert widget.is_visible() and widget.get_by_label("Height (cm)").is_visible()


def test_widget_uses_the_shoppers_avatar(visit: Visit, service: Service) -> None:
    body = {"stature_cm": 170, "body_mass_kg": 64}
    visit.goto("/studio")  # same origin as the demo shop: the studio's local storage key and cookie
    shopper = next(c["value"] for c in visit.page.context.cookies() if c["name"] == "fitroom_shopper")
    created = httpx.post(
        f"{service.url}/v1/avatars", json=body, timeout=60, headers={"Authorization": f"Bearer {shopper}"}
    )
    assert created.status_code == 201, created.text
    visit.page.evaluate(f"() => localStorage.setItem('fitroom.avatar_id', '{created.json()['id']}')")
    visit.goto(f"/demo/product/{CHART_ITEM}")
    widget = visit.page.locator(WIDGET)
    widget.get_by_role("button", name="Use my avatar").click()
    assert widget.locator(".rec-size").inner_text() in _offered(service, CHART_ITEM)


def test_a_shop_on_another_origin_embeds_it_with_its_widget_key(visit: Visit, service: Service) -> None:
    shop = "http://localhost:8999"  # another origin (Playwright answers it); loopback, as the service is
    issued = httpx.post(
        f"{service.url}/v1/admin/keys",
        json={"scope": "widget", "name": "shop", "origins": [shop]},
        headers=service.admin,
    )
    assert issued.status_code == 201, issued.text
    html = (
        f'<!doctype html><html lang="en"><body><h1>A shop</h1><div data-fitroom-item="{CHART_ITEM}"></div>'
        f'<script async src="{service.url}/widget.js" data-fitroom-key="{issued.json()["key"]}"></script>'
        "</body></html>"
    )
    page = visit.page
    # Chromium asks before a site reaches a loopback address; here both ends are on this machine
    page.context.grant_permissions(["local-network-access"], origin=shop)
    page.route(f"{shop}/**", lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    page.goto(f"{shop}/product")
    widget = page.locator(WIDGET)
    widget.get_by_label("Height (cm)").fill("168")
    widget.get_by_label("Weight (kg)").fill("60")
    widget.get_by_role("button", name="Recommend my size").click()
    assert widget.locator(".rec-size").inner_text() in _offered(service, CHART_ITEM)
