"""Builds the FastAPI application; routers, guards, middleware and handlers are registered here and
nowhere else.

Each router gets its guard once: the scopes whose keys may call it (admin always may), and for the
avatar routers the ownership check. ``/healthz``, ``/readyz``, ``/docs`` and the pages stay public.
"""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.logs import RequestContext
from api.routers import admin, analytics, avatar_export, avatars, fit, health, sizes, tryon
from api.security.auth import guard
from api.security.body_limit import BodyLimitMiddleware
from api.security.cors import KeyOriginCORS
from api.security.principal import Scope
from api.web import router as web


def create_app() -> FastAPI:
    app = FastAPI(
        title="fitroom",
        version="0.1.0",
        description="Look-alike avatars and size-and-fit recommendations. Every /v1 route needs "
        "`Authorization: Bearer <key>` (`fitroom keys create --scope …`).",
        docs_url=None,  # served from local assets by api.web (the CDN defaults fail offline)
        redoc_url=None,
    )
    errors.install(app)
    app.include_router(health.router)
    shopper = guard(Scope.SHOPPER, owned=True)
    app.include_router(avatars.router, dependencies=shopper)
    app.include_router(avatar_export.router, dependencies=shopper)
    app.include_router(tryon.router, dependencies=shopper)
    app.include_router(analytics.router, dependencies=guard(Scope.ANALYTICS))
    app.include_router(sizes.router, dependencies=guard(Scope.WIDGET, Scope.SHOPPER))
    app.include_router(fit.router, dependencies=guard(Scope.WIDGET, Scope.SHOPPER))
    app.include_router(admin.router, dependencies=guard(Scope.ADMIN))
    web.install(app)
    # outermost last: request id and timing see everything, then CORS, then the body limit
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(KeyOriginCORS)
    app.add_middleware(RequestContext)
    return app


app = create_app()
