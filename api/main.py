"""Builds the FastAPI application; routers and handlers are registered here and nowhere else."""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.routers import avatars, health


def create_app() -> FastAPI:
    app = FastAPI(
        title="fitroom",
        version="0.1.0",
        description="Look-alike avatars and size-and-fit recommendations.",
    )
    errors.install(app)
    app.include_router(health.router)
    app.include_router(avatars.router)
    return app


app = create_app()
