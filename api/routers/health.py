"""Liveness plus what an operator checks first: which database and which model versions are in use."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep, SettingsDep
from api.model_store import size_model_version

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(settings: SettingsDep, session: SessionDep) -> dict[str, Any]:
    session.execute(text("SELECT 1"))
    backend = session.get_bind().dialect.name
    return {"status": "ok", "database": backend, "models": {"sizefit": size_model_version(settings)}}
