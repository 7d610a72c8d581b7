"""Builds the FastAPI application; routers and handlers are registered here and nowhere else."""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.routers import analytics, avatars, fit, health, sizes, tryon
from api.web import router as web


def create_app() -> FastAPI:
    app = FastAPI(
        title="fitroom",
        version="0.1.0",
        description="Look-alike avatars and size-and-fit recommendations.",
        docs_url=None,  # served from local assets by api.web (the CDN defaults fail offline)
        redoc_url=None,
    )
    errors.install(app)
    app.include_router(health.router)
    app.include_router(avatars.router)
    app.include_router(tryon.router)
    app.include_router(analytics.router)
    app.include_router(sizes.router)
    app.include_router(fit.router)
    web.install(app)
    return app


app = create_app()
