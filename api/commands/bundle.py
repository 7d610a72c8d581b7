"""``fitroom avatar bundle``: render an avatar into the try-on bundle (the files generators read)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import typer

from avatar.render.source import POSE_HELP

log = logging.getLogger(__name__)


def resolve_avatar_folder(avatar: str) -> Path:
    """An avatar output folder as given, or the stored folder of an avatar id (the row must exist)."""
    folder = Path(avatar)
    if (folder / "params.json").is_file():
        return folder
    from api.avatar_service import avatar_dir, find_avatar
    from api.db.session import session_scope
    from api.settings import get_settings

    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as session:
        if find_avatar(session, avatar) is None:
            raise typer.BadParameter(
                f"no avatar with id {avatar!r} in the store, nor an avatar folder (with params.json) there",
                param_hint="AVATAR",
            )
    return avatar_dir(settings, avatar)


def bundle(
    avatar: str = typer.Argument(..., help="An avatar id in the store, or a folder from `avatar create`."),
    out: str = typer.Option(..., "--out", help="Folder to write the bundle into (created)."),
    size: str = typer.Option("768x1024", help="Image size: 384x512, 768x1024 or 1152x1536."),
    pose: str = typer.Option("a_pose", help=f"Pose: {POSE_HELP}."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON line (last line)."),
) -> None:
    """Write person.png, garment masks, keypoints, DensePose, depth, normals, camera and params."""
    from avatar.render.bundle import render_bundle, write_bundle
    from avatar.render.camera import parse_size
    from avatar.render.renderer import RendererUnavailableError
    from avatar.render.source import load_avatar

    try:
        dims = parse_size(size)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--size") from exc
    folder = resolve_avatar_folder(avatar)
    start = time.perf_counter()
    try:
        scene = load_avatar(folder, pose)
    except ValueError as exc:
        hint = "--pose" if str(exc).startswith("pose") else "AVATAR"
        raise typer.BadParameter(str(exc), param_hint=hint) from exc
    except FileNotFoundError as exc:  # a backend whose licensed files are not configured (SMPL-X)
        raise typer.BadParameter(str(exc), param_hint="AVATAR") from exc
    posed = time.perf_counter()
    try:
        result = render_bundle(scene.body, scene.appearance, dims)
    except RendererUnavailableError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from exc
    rendered = time.perf_counter()
    write_bundle(result, Path(out), scene.params_path)
    written = time.perf_counter()
    report = {
        **result.report,
        "timings_ms": {
            "pose_body": round((posed - start) * 1000, 1),
            "render_bundle": round((rendered - posed) * 1000, 1),
            "write_files": round((written - rendered) * 1000, 1),
            **result.timings_ms,
        },
        "out_dir": str(out),
    }
    if as_json:
        typer.echo(json.dumps(report))
    else:
        status = "all checks pass" if report["passed"] else "SOME CHECKS FAIL (see bundle_report.json)"
        typer.echo(f"bundle written to {out}: {status}")
        typer.echo(f"timings (ms): {report['timings_ms']}")
    if not report["passed"]:
        raise typer.Exit(1)
