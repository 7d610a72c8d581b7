"""Avatar storage: where an avatar's files live, creating one (files and row together) and the one
check that an id names a stored avatar. The avatar routers and the CLI all go through here.

Files live in ``{artifact_dir}/avatars/{id}/``; they are written to a temporary sibling folder and
renamed into place only once the database row is flushed, so a failed request leaves nothing behind.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

from sqlalchemy.orm import Session

from api import metrics
from api.db.avatar_tables import Avatar
from api.errors import ApiError
from api.schemas.avatars import AvatarCreate
from api.settings import Settings
from avatar.body.measurements import MeasurementError
from avatar.create import FaceInput, create_avatar
from avatar.face.landmark_map import LandmarkMapError
from avatar.face.photo import encode_png

log = logging.getLogger(__name__)


def avatar_dir(settings: Settings, avatar_id: str) -> Path:
    """Where an avatar's files live."""
    return settings.artifact_dir / "avatars" / avatar_id


def find_avatar(session: Session, avatar_id: str) -> Avatar | None:
    """The stored avatar with this id, or None when the id is malformed or unknown."""
    try:
        uuid.UUID(avatar_id)
    except ValueError:
        return None
    return session.get(Avatar, avatar_id)


def create_stored_avatar(
    *, session: Session, settings: Settings, body: AvatarCreate, face: FaceInput | None = None,
    keep_photo: bool = False,
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
        metrics.avatar_stages(summary["timings"])
        row = Avatar(
            id=avatar_id,
            backend=body.backend,
            sex=measurements.sex,
            measurements=summary["measurements"],
            face=summary.get("face"),
            photo_kept=False,
        )
        if keep_photo and face is not None and face.photo is not None:
            (staging / "photo.png").write_bytes(encode_png(face.photo.rgb))
            row.photo_kept = True
        session.add(row)
        session.flush()
        staging.rename(final)
    except FileNotFoundError as exc:
        raise ApiError(503, "backend_unavailable", str(exc), {"backend": body.backend}) from exc
    except LandmarkMapError as exc:
        message = f"the {body.backend} body model's head could not be mapped to face landmarks: {exc}"
        raise ApiError(503, "backend_unavailable", message, {"backend": body.backend}) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    session.refresh(row)
    return row


def delete_stored_avatar(session: Session, settings: Settings, row: Avatar) -> None:
    """Remove the avatar's row and every stored file."""
    folder = avatar_dir(settings, row.id)
    session.delete(row)
    session.flush()
    if folder.exists():
        shutil.rmtree(folder)
    log.info("deleted avatar %s", row.id)
