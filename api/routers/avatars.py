"""``/v1/avatars``: create a fitted avatar from body parameters, fetch it and its files, delete it.

Files live in ``{artifact_dir}/avatars/{id}/``; they are written to a temporary sibling folder and
renamed into place only once the database row is flushed, so a failed request leaves nothing behind.
Deleting removes the folder and the row.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from api.db.avatar_tables import Avatar
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError, not_found
from api.schemas.avatars import AvatarCreate, AvatarLinks, AvatarPublic, MeasurementPublic
from api.settings import Settings
from avatar.create import FILES, FaceInput, create_avatar
from avatar.measurements import MeasurementError

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/avatars", tags=["avatars"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown avatar id."},
    422: {"description": "A measurement out of range or inconsistent (the message names field and range)."},
    503: {"description": "The requested body model is not configured (SMPL-X files missing)."},
}


def avatar_dir(settings: Settings, avatar_id: str) -> Path:
    """Where an avatar's files live (the try-on bundle router reads them here too)."""
    return settings.artifact_dir / "avatars" / avatar_id


def _public(row: Avatar) -> AvatarPublic:
    base = f"/v1/avatars/{row.id}"
    return AvatarPublic(
        id=row.id,
        created_at=row.created_at,
        backend=row.backend,
        sex=row.sex,
        measurements={k: MeasurementPublic(**v) for k, v in row.measurements.items()},
        links=AvatarLinks(self=base, mesh_glb=f"{base}/mesh.glb", params_json=f"{base}/params.json"),
    )


def create_stored_avatar(
    *, session: SessionDep, settings: Settings, body: AvatarCreate, face: FaceInput | None = None
) -> Avatar:
    """Validate, build the avatar files, store the row; on any failure nothing is kept."""
    try:
        measurements = body.measurements()
    except MeasurementError as exc:
        details = {"field": exc.field, "range": list(exc.limit) if exc.limit else None}
        raise ApiError(422, "invalid_input", str(exc), details) from exc
    avatar_id = str(uuid.uuid4())
    final = avatar_dir(settings, avatar_id)
    staging = final.with_name(f".{avatar_id}.partial")
    try:
        summary = create_avatar(measurements, staging, backend=body.backend, pose=body.pose, face=face)
        row = Avatar(
            id=avatar_id,
            backend=body.backend,
            sex=measurements.sex,
            measurements=summary["measurements"],
            face=None,
            photo_kept=False,
        )
        session.add(row)
        session.flush()
        staging.rename(final)
    except FileNotFoundError as exc:
        raise ApiError(503, "backend_unavailable", str(exc), {"backend": body.backend}) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    session.refresh(row)
    return row


@router.post("", response_model=AvatarPublic, status_code=201, responses=_ERRORS)
def create(body: AvatarCreate, session: SessionDep, settings: SettingsDep) -> AvatarPublic:
    """Fit a body to the measurements (completing the missing ones) and store its files."""
    return _public(create_stored_avatar(session=session, settings=settings, body=body))


def _row(session: SessionDep, avatar_id: str) -> Avatar:
    try:
        uuid.UUID(avatar_id)
    except ValueError:
        raise not_found("avatar", avatar_id) from None
    row = session.get(Avatar, avatar_id)
    if row is None:
        raise not_found("avatar", avatar_id)
    return row


@router.get("/{avatar_id}", response_model=AvatarPublic, responses=_ERRORS)
def get(avatar_id: str, session: SessionDep) -> AvatarPublic:
    """The avatar's measurements (target / predicted / achieved) and links to its files."""
    return _public(_row(session, avatar_id))


def _file(session: SessionDep, settings: Settings, avatar_id: str, name: str, media: str) -> FileResponse:
    _row(session, avatar_id)
    path = avatar_dir(settings, avatar_id) / name
    if not path.is_file():
        raise not_found("file", f"{avatar_id}/{name}")
    return FileResponse(path, media_type=media, filename=name)


@router.get("/{avatar_id}/mesh.glb", response_class=FileResponse, responses=_ERRORS)
def mesh_glb(avatar_id: str, session: SessionDep, settings: SettingsDep) -> FileResponse:
    """The fitted body as glTF 2.0 binary."""
    return _file(session, settings, avatar_id, FILES["glb"], "model/gltf-binary")


@router.get("/{avatar_id}/params.json", response_class=FileResponse, responses=_ERRORS)
def params_json(avatar_id: str, session: SessionDep, settings: SettingsDep) -> FileResponse:
    """Backend, parameters, pose and measurements of the avatar."""
    return _file(session, settings, avatar_id, FILES["params"], "application/json")


@router.delete("/{avatar_id}", status_code=204, responses=_ERRORS)
def delete(avatar_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    """Remove every stored file of the avatar and its row."""
    row = _row(session, avatar_id)
    folder = avatar_dir(settings, avatar_id)
    session.delete(row)
    session.flush()
    if folder.exists():
        shutil.rmtree(folder)
    log.info("deleted avatar %s", avatar_id)
    return Response(status_code=204)
