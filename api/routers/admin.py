"""Admin-only routes: API keys (create, list, revoke) and picking up a new size model at once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError, not_found
from api.model_store import reload_size_model
from api.security import keys
from api.security.auth import forget_cached_keys
from api.security.cors import forget_cached_origins
from api.security.principal import Scope

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class KeyCreate(BaseModel):
    scope: Scope
    name: str = Field("", max_length=128)
    origins: list[Annotated[str, Field(max_length=256)]] = Field(default_factory=list, max_length=32)


class KeyIssued(BaseModel):
    id: str
    key: str = Field(description="Shown once; only its SHA-256 digest is stored.")
    scope: Scope


class KeyPublic(BaseModel):
    id: str
    scope: Scope
    name: str
    origins: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ModelReloaded(BaseModel):
    version: str


@router.post("/keys", response_model=KeyIssued, status_code=201)
def create_key(body: KeyCreate, session: SessionDep) -> KeyIssued:
    try:
        issued = keys.create_key(session, body.scope, name=body.name, origins=body.origins)
    except ValueError as exc:
        raise ApiError(422, "invalid_input", f"origins: {exc}", {"field": "origins"}) from exc
    forget_cached_origins()
    return KeyIssued(id=issued.id, key=issued.key, scope=issued.scope)


@router.get("/keys", response_model=list[KeyPublic])
def list_keys(session: SessionDep) -> list[KeyPublic]:
    return [KeyPublic.model_validate(row, from_attributes=True) for row in keys.list_keys(session)]


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(key_id: Annotated[str, Path(max_length=16)], session: SessionDep) -> Response:
    if not keys.revoke_key(session, key_id):
        raise not_found("key", key_id)
    session.commit()
    forget_cached_keys()
    forget_cached_origins()
    return Response(status_code=204)


@router.post("/models/reload", response_model=ModelReloaded)
async def reload_model(settings: SettingsDep) -> ModelReloaded:
    """Load the size model artifact now and swap it in; requests already running finish on the old one."""
    loaded = await run_in_threadpool(reload_size_model, settings)
    return ModelReloaded(version=loaded.version)
