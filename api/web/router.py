"""Every web route in one router, and the static mount of the built assets.

The pages and /docs are public; their JSON helpers need a key like the rest of /v1 (the pages hand
theirs over as a cookie, see :mod:`api.security.pages`).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from api.security import pages as sign_in
from api.security.auth import guard
from api.security.principal import Scope
from api.web import body_check, brands, docs, fitmap, items, pages
from api.web.assets import DIST, STATIC_PREFIX

router = APIRouter()
for part in (docs, pages, sign_in):
    router.include_router(part.router)
for part in (items, brands):
    router.include_router(part.router, dependencies=guard(Scope.WIDGET, Scope.SHOPPER))
for part in (body_check, fitmap):
    router.include_router(part.router, dependencies=guard(Scope.SHOPPER, owned=True))


def install(app: FastAPI) -> None:
    """Add the pages and the JSON helpers, and serve ``web/dist`` under ``/static``."""
    app.include_router(router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=DIST, check_dir=False), name="static")
