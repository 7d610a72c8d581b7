"""``/docs`` and ``/redoc`` from the locally built Swagger UI and ReDoc files: they work offline."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from api.web.assets import STATIC_PREFIX, asset

router = APIRouter(include_in_schema=False)
_VENDOR = f"{STATIC_PREFIX}/vendor"
_TITLE = "fitroom API"


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    asset("vendor/swagger-ui-bundle.js")
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=_TITLE,
        swagger_js_url=f"{_VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{_VENDOR}/swagger-ui.css",
        swagger_favicon_url=f"{_VENDOR}/favicon-32x32.png",
    )


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    asset("vendor/redoc.standalone.js")
    return get_redoc_html(
        openapi_url="/openapi.json",
        title=_TITLE,
        redoc_js_url=f"{_VENDOR}/redoc.standalone.js",
        redoc_favicon_url=f"{_VENDOR}/favicon-32x32.png",
        with_google_fonts=False,
    )
