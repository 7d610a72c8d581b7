"""Every web route in one router, and the static mount of the built assets."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import body_check, docs, fitmap, items, pages
from api.web.assets import DIST, STATIC_PREFIX

router = APIRouter()
for part in (docs, pages, items, body_check, fitmap):
    router.include_router(part.router)


def install(app: FastAPI) -> None:
    """Add the pages and the JSON helpers, and serve ``web/dist`` under ``/static``."""
    app.include_router(router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=DIST, check_dir=False), name="static")
