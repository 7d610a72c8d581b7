"""``fitroom avatar likeness``: how much the look-alike head resembles each photo (evaluation only)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"}


def likeness(
    photos: str = typer.Option(..., help="Folder of face photos (JPEG, PNG, WebP, HEIC)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object (last line)."),
) -> None:
    """Landmark errors (fitted, held-out), face-recognition distances photo ↔ head renders (yaw 0°, ±20°,
    untextured) and hair IoU per photo; needs the [eval] extra (dlib)."""
    from avatar.face.identity import IdentityModelMissing, evaluate_photos

    folder = Path(photos)
    if not folder.is_dir():
        raise typer.BadParameter(f"must be a folder of photos, got {photos!r}", param_hint="--photos")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    if not paths:
        raise typer.BadParameter(f"no photo ({', '.join(sorted(PHOTO_SUFFIXES))}) in {photos}",
                                 param_hint="--photos")
    try:
        report = evaluate_photos(paths)
    except IdentityModelMissing as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))
