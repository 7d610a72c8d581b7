"""Liveness (``/healthz``), readiness (``/readyz``: database reachable and size model loaded) and the
Prometheus metrics (``/metrics``, admin key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api import metrics
from api.db.session import session_scope
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.model_store import load_size_model, size_model_version
from api.security.auth import guard
from api.security.principal import Scope
from api.settings import Settings

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(settings: SettingsDep, session: SessionDep) -> dict[str, Any]:
    session.execute(text("SELECT 1"))
    backend = session.get_bind().dialect.name
    return {"status": "ok", "database": backend, "models": {"sizefit": size_model_version(settings)}}


def _readiness(settings: Settings) -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {}
    try:
        with session_scope(settings.sqlalchemy_url) as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means not ready; the type is the useful part
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        checks["sizefit"] = load_size_model(settings).version
    except ApiError as exc:
        checks["sizefit"] = f"unavailable: {exc.message}"
    ready = checks["database"] == "ok" and not str(checks["sizefit"]).startswith("unavailable")
    return ready, checks


@router.get("/readyz", responses={503: {"description": "Database unreachable or no size model loaded."}})
async def readyz(settings: SettingsDep) -> JSONResponse:
    """Ready to serve: the database answers and the size model is loaded (a load balancer's check)."""
    ready, checks = await run_in_threadpool(_readiness, settings)
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", **checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", dependencies=guard(Scope.ADMIN), response_class=Response)
def prometheus_metrics() -> Response:
    """Prometheus text format: requests, latency, model version, avatar stages, photo refusals."""
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
