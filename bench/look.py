"""Hair, skin and eyes, measured: ``python -m bench.look [--picture PNG] [PHOTO …]``.

For each photo (default: the shipped frontal ones) on the neutral Anny body in A-pose: whether hair
was drawn and why not, its class, the seconds hair analysis takes, the hair-silhouette IoU of a
frontal head render against the photo (aligned on the eyes), the colour step across the face's edge
in UV space (ΔE*ab) before (feathered alpha into the measured tone, the photo's hair left on the
forehead) and after (Poisson blend into the face's own skin, hair kept off), and where the eyes came
from. ``--picture`` writes photo | before | after, each after-render at yaw 0° and 20°.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import typer
from PIL import Image

from avatar.face.hair import analyze_hair, hair_iou
from avatar.face.hair_mesh import HairStyle, build_hair_mesh
from avatar.face.headview import render_head
from avatar.face.likeness import camera_to_model
from avatar.face.lookalike import analyze_photo, apply_to_body
from avatar.face.texture import build_appearance
from avatar.render.mesh import Appearance, PosedBody

FACES = Path(__file__).resolve().parents[1] / "data" / "faces"
DEFAULT_PHOTOS = [FACES / "frontal_female_astronaut_collins.png", FACES / "frontal_male_luciano.png"]
L_EYE, R_EYE = 23, 24
TILE = 320


def _rgba(png: bytes) -> np.ndarray:
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])


def measure(path: Path, body: Any, repeat: int = 3) -> tuple[dict[str, Any], list[np.ndarray]]:
    """One row of the report and the picture tiles (photo, before 0°/20°, after 0°/20°)."""
    from avatar.body import skeleton

    photo = analyze_photo(path.read_bytes())
    hair_s = []
    for _ in range(repeat):
        start = time.perf_counter()
        analyze_hair(photo.rgb, photo.face, photo.skin)
        hair_s.append(time.perf_counter() - start)
    shape = body.default_shape("unspecified")[None]
    pose = skeleton.named_pose("a_pose")[None]
    with torch.no_grad():
        posed = PosedBody.from_output(body.forward(shape, pose))
    start = time.perf_counter()
    look = apply_to_body(photo, body, shape, pose, posed.vertices)
    look_s = time.perf_counter() - start
    head = PosedBody(vertices=look.vertices, faces=posed.faces, joints=posed.joints,
                     part_labels=posed.part_labels)
    model = body.model
    with torch.no_grad():  # the rest vertices in Anny's frame, as the likeness fit saw them
        rest = camera_to_model(body.measurement_vertices(shape)[0].double().numpy())
    uv = model.texture_coordinates.double().numpy()
    face_uv = model.face_texture_coordinate_indices.numpy()
    before = build_appearance(photo.rgb, photo.face, look.likeness, photo.skin,
                              rest + look.likeness.offsets, model.faces.numpy(), uv, face_uv, blend="feather")
    uv_t, uv_faces = (t.numpy() for t in body.uv)
    style = HairStyle.from_analysis(photo.hair) if photo.hair is not None else None
    hair = build_hair_mesh(head.vertices, head.part_labels, head.joints, style) if style else None
    old = Appearance(skin_rgb=tuple(c / 255 for c in photo.skin.srgb),  # type: ignore[arg-type]
                     texture=np.dstack([before.texture, np.full(before.texture.shape[:2], 255, np.uint8)]),
                     uv=uv_t, uv_faces=uv_faces.astype(np.int64))
    new = Appearance(skin_rgb=tuple(c / 255 for c in look.skin_rgb),  # type: ignore[arg-type]
                     texture=_rgba(look.texture_png), uv=uv_t, uv_faces=uv_faces.astype(np.int64),
                     hair=hair, eyes_in_texture=True)
    views = {(name, yaw): render_head(head, app, yaw, size=TILE)
             for name, app in (("before", old), ("after", new)) for yaw in (0.0, 20.0)}
    iou = None
    if hair is not None and photo.hair is not None:
        front = views[("after", 0.0)]
        eyes, _ = front.camera.project(head.joints[[R_EYE, L_EYE]])
        iou = round(hair_iou(photo.hair.mask, photo.hair.eyes_px, front.buffers.hair, eyes), 4)
    row = {
        "photo": path.name,
        "hair": photo.hair.summary() if photo.hair is not None else None,
        "hair_s_median": round(statistics.median(hair_s), 3),
        "hair_iou": iou,
        "seam_delta_e_before": round(before.seam_delta_e, 2),
        "seam_delta_e_after": look.summary["seam_delta_e"],
        "eyes": look.summary["eyes"],
        "face_texture_hair_s": round(look_s, 3),
    }
    portrait = Image.fromarray(photo.rgb)
    portrait.thumbnail((TILE, TILE))
    tile = np.full((TILE, TILE, 3), 230, np.uint8)
    p = np.asarray(portrait)
    tile[:p.shape[0], :p.shape[1]] = p
    tiles = [tile] + [views[k].buffers.color.copy() for k in
                      (("before", 0.0), ("before", 20.0), ("after", 0.0), ("after", 20.0))]
    return row, tiles


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.look", description=__doc__)
    parser.add_argument("--picture", type=Path, help="write photo | before 0°, 20° | after 0°, 20° here")
    parser.add_argument("photos", nargs="*", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from avatar.body.models.anny_backend import AnnyBody

    body = AnnyBody()
    rows, grid = [], []
    for path in args.photos or DEFAULT_PHOTOS:
        row, tiles = measure(path, body)
        rows.append(row)
        grid.append(np.hstack(tiles))
    if args.picture is not None:
        Image.fromarray(np.vstack(grid)).save(args.picture)
    typer.echo(json.dumps({"photos": rows}, indent=1))


if __name__ == "__main__":
    _main()
