"""/docs and /redoc render the API's operations from assets the service serves itself (offline)."""

from __future__ import annotations

import httpx

from tests.web.conftest import Service, Visit


def _operations(service: Service) -> int:
    spec = httpx.get(f"{service.url}/openapi.json").json()
    return sum(len(methods) for methods in spec["paths"].values())


def test_swagger_ui_renders_every_operation_offline(visit: Visit, service: Service) -> None:
    operations = _operations(service)
    visit.goto("/docs")
    visit.page.wait_for_selector(".opblock")
    assert visit.page.locator(".opblock").count() == operations
    assert visit.page.get_by_text("/v1/sizes/recommend", exact=True).first.is_visible()
    assert "cdn" not in visit.page.content().lower()
    assert not visit.errors


def test_redoc_renders_every_operation_offline(visit: Visit, service: Service) -> None:
    operations = _operations(service)
    visit.goto("/redoc")
    visit.page.wait_for_selector("[data-section-id^='operation/']")
    assert visit.page.locator("h1").first.inner_text().startswith("fitroom")
    assert visit.page.locator("[data-section-id^='operation/']").count() == operations
    assert not visit.errors
