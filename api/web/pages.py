"""The HTML pages and the widget script, served from the build in ``web/dist``."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep, SettingsDep
from api.security.pages import analytics_signed_in, demo_key, studio_key
from api.sizing_service import fetch_items
from api.web.assets import asset, page

router = APIRouter(include_in_schema=False)

ItemId = Annotated[str, Path(min_length=1, max_length=64)]
Lang = Annotated[str, Query(pattern=r"^(en|zh-CN)$", description="Page language.")]
Units = Annotated[str, Query(pattern=r"^(metric|imperial)$", description="Units the widget starts in.")]


@router.get("/studio", response_class=HTMLResponse)
def studio(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The shopper's avatar studio (a browser's first visit gets its own shopper key as a cookie)."""
    response = HTMLResponse(page("studio.html"))
    studio_key(request, response, settings)
    return response


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, settings: SettingsDep) -> Response:
    """The returns team's interactive analytics (after signing in with an analytics key)."""
    if not analytics_signed_in(request, settings):
        return RedirectResponse("/sign-in?next=/dashboard", status_code=303)
    return HTMLResponse(page("dashboard.html"))


@router.get("/widget.js")
def widget_js() -> FileResponse:
    """The embeddable size widget (one async script tag per shop page)."""
    return FileResponse(
        asset("widget.js"),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/demo/product/{item_id}", response_class=HTMLResponse)
def demo_product(
    request: Request,
    item_id: ItemId,
    session: SessionDep,
    settings: SettingsDep,
    lang: Lang = "en",
    units: Units = "metric",
) -> HTMLResponse:
    """A stand-in shop product page that embeds the widget exactly as a shop would (with the local
    widget key, from ``fitroom keys local``)."""
    item = fetch_items(session, [item_id]).get(item_id)
    title = " · ".join(x for x in (item.brand, item.category) if x) if item else ""
    response = HTMLResponse(
        page(
            "demo.html",
            lang=escape(lang),
            units=escape(units),
            item_id=escape(item_id),
            title=escape(title or "Product"),
        )
    )
    demo_key(request, response, settings)
    return response
