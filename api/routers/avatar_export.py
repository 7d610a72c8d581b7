"""``GET /v1/avatars/{id}/export``: everything the service holds about one avatar, as a zip (the
shopper's right of access): its database record as ``record.json`` and every stored file.

Try-on bundles and fit maps are rendered on request and never stored, so there is nothing more.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import inspect

from api.avatar_service import avatar_dir, find_avatar
from api.db.avatar_tables import Avatar
from api.deps import SessionDep, SettingsDep
from api.errors import not_found

router = APIRouter(prefix="/v1/avatars", tags=["avatars"])


def record(row: Avatar) -> dict[str, Any]:
    """Every column of the avatar's row."""
    return {c.key: getattr(row, c.key) for c in inspect(Avatar).mapper.column_attrs}


@router.get(
    "/{avatar_id}/export",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, 404: {"description": "Unknown avatar id."}},
)
def export_avatar(avatar_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    """A zip of the avatar's record and files (mesh, parameters, face texture, photo if kept)."""
    row = find_avatar(session, avatar_id)
    if row is None:
        raise not_found("avatar", avatar_id)
    folder = avatar_dir(settings, row.id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("record.json", json.dumps(record(row), indent=2, default=str))
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file():
                archive.write(path, f"files/{path.relative_to(folder)}")
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="avatar-{row.id}.zip"'},
    )
