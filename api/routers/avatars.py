"""``/v1/avatars``: create a fitted avatar from body parameters, fetch it and its files, delete it.

Storage (files and row, written together or not at all) is :mod:`api.avatar_service`; deleting
removes the folder and the row.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.avatar_service import avatar_dir, create_stored_avatar, delete_stored_avatar, find_avatar
from api.db.avatar_tables import Avatar
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError, not_found
from api.schemas.avatars import AvatarCreate, AvatarLinks, AvatarPublic, MeasurementPublic
from api.settings import Settings
from avatar.create import FILES, FaceInput
from avatar.face.quality import DEFAULT_THRESHOLDS, PhotoRejected
from avatar.types import MeasurementRecord

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/avatars", tags=["avatars"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown avatar id."},
    422: {"description": "A measurement out of range or inconsistent (the message names field and range)."},
    503: {"description": "The requested body model is not configured (SMPL-X files missing)."},
}


def _public(row: Avatar) -> AvatarPublic:
    base = f"/v1/avatars/{row.id}"
    return AvatarPublic(
        id=row.id,
        created_at=row.created_at,
        backend=row.backend,
        sex=row.sex,
        measurements={k: MeasurementPublic.from_record(MeasurementRecord.from_dict(v))
                      for k, v in row.measurements.items()},
        links=AvatarLinks(self=base, mesh_glb=f"{base}/mesh.glb", params_json=f"{base}/params.json"),
        face=row.face,
    )


# Multipart overhead allowed on top of the photo's byte limit (the JSON body part and headers).
_FORM_OVERHEAD = 64 * 1024


class _InMemoryMultiPart(MultiPartParser):
    """Starlette spools uploads over 1 MB to a temporary file; a face photo must never touch disk."""

    spool_max_size = DEFAULT_THRESHOLDS.max_bytes + _FORM_OVERHEAD


def _too_large(n_bytes: int) -> ApiError:
    limit = DEFAULT_THRESHOLDS.max_bytes
    return ApiError(
        422,
        "image_too_large",
        f"The upload is {n_bytes / 2**20:.1f} MB; the photo limit is {limit / 2**20:.0f} MB. "
        "Upload a smaller photo.",
        {"bytes": n_bytes, "max_bytes": limit},
    )


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_input", f"{field}: {message}", {"field": field})


async def _parse(request: Request) -> tuple[AvatarCreate, bytes | None, bool]:
    """JSON body, or multipart with a ``photo`` file, a JSON ``body`` part and optional ``keep_photo``."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            return AvatarCreate.model_validate(await request.json()), None, False
        except ValueError as exc:
            raise _invalid("body", str(exc)) from exc
    declared = int(request.headers.get("content-length") or 0)
    if declared > DEFAULT_THRESHOLDS.max_bytes + _FORM_OVERHEAD:
        raise _too_large(declared)  # refused before a byte of the body is read
    parser = _InMemoryMultiPart(
        request.headers, request.stream(), max_files=1, max_fields=3, max_part_size=_FORM_OVERHEAD
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise _invalid("body", exc.message) from exc
    photo, raw_body = form.get("photo"), form.get("body")
    if not isinstance(photo, UploadFile):
        raise _invalid("photo", "a multipart request needs a photo file part")
    if not isinstance(raw_body, str):
        raise _invalid("body", "a multipart request needs a JSON body part")
    try:
        body = AvatarCreate.model_validate_json(raw_body)
    except ValidationError as exc:
        raise _invalid("body", str(exc)) from exc
    data = await photo.read(DEFAULT_THRESHOLDS.max_bytes + 1)
    keep = str(form.get("keep_photo", "false")).lower() in ("1", "true", "yes")
    return body, data, keep


@router.post("", response_model=AvatarPublic, status_code=201, responses=_ERRORS)
async def create(request: Request, session: SessionDep, settings: SettingsDep) -> AvatarPublic:
    """Fit a body to the measurements (completing the missing ones) and store its files; with a
    multipart ``photo``, fit the head to the face and texture it (the photo is kept only with
    ``keep_photo=true``)."""
    from avatar.face.lookalike import analyze_photo

    body, photo, keep = await _parse(request)
    face = None
    if photo is not None:
        try:
            face = FaceInput(photo=await run_in_threadpool(analyze_photo, photo))
        except PhotoRejected as exc:
            raise ApiError(422, exc.code, exc.message, exc.details) from exc
    row = await run_in_threadpool(
        lambda: create_stored_avatar(
            session=session, settings=settings, body=body, face=face, keep_photo=keep
        )
    )
    return _public(row)


def _row(session: SessionDep, avatar_id: str) -> Avatar:
    row = find_avatar(session, avatar_id)
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
    delete_stored_avatar(session, settings, _row(session, avatar_id))
    return Response(status_code=204)
