"""``GET /v1/avatars/{id}/tryon-bundle``: the avatar rendered into the try-on bundle, as one zip.

The bundle is rendered on request from the stored avatar files (nothing new is kept), so it always
reflects the current renderer; sizes and poses are query parameters.
"""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Query, Response

from api.avatar_service import avatar_dir, find_avatar
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError, not_found
from avatar.render.bundle import render_bundle, write_bundle
from avatar.render.camera import parse_size
from avatar.render.renderer import RendererUnavailableError
from avatar.render.source import load_avatar

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/avatars", tags=["try-on"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown avatar id."},
    422: {"description": "Unsupported size or pose (the message names the field and the allowed values)."},
    503: {
        "description": "Headless rendering or the avatar's body model is unavailable on this host (the "
        "message names the missing packages or files)."
    },
}


@router.get(
    "/{avatar_id}/tryon-bundle",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "The bundle files."}, **_ERRORS},
)
def tryon_bundle(
    avatar_id: str,
    session: SessionDep,
    settings: SettingsDep,
    size: Literal["384x512", "768x1024", "1152x1536"] = Query("768x1024", description="Image size."),
    pose: Literal["a_pose", "t_pose", "neutral"] = Query("a_pose", description="Named SMPL-X pose."),
) -> Response:
    """person.png, mask_{upper,lower,dress}.png, keypoints.json, densepose.png, densepose_iuv.png,
    depth.png, normal.png, camera.json, params.json and bundle_report.json, zipped."""
    if find_avatar(session, avatar_id) is None:
        raise not_found("avatar", avatar_id)
    folder = avatar_dir(settings, avatar_id)
    if not (folder / "params.json").is_file():
        raise not_found("file", f"{avatar_id}/params.json")
    try:
        scene = load_avatar(folder, pose)
        bundle = render_bundle(scene.body, scene.appearance, parse_size(size))
    except RendererUnavailableError as exc:
        raise ApiError(503, "renderer_unavailable", str(exc)) from exc
    except FileNotFoundError as exc:  # a backend whose licensed files are not configured (SMPL-X)
        raise ApiError(503, "backend_unavailable", str(exc), {"avatar_id": avatar_id}) from exc
    except ValueError as exc:
        raise ApiError(422, "invalid_avatar", str(exc), {"avatar_id": avatar_id}) from exc
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="fitroom-bundle-") as tmp:
        paths = write_bundle(bundle, Path(tmp), scene.params_path)
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
            for path in paths:
                archive.write(path, arcname=path.name)
    log.info("try-on bundle for %s (%s, %s): passed=%s", avatar_id, size, pose, bundle.report["passed"])
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="tryon-bundle-{avatar_id}.zip"'},
    )
