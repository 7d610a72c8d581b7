"""Build and check the dense MediaPipe-landmark correspondence (:mod:`avatar.face.landmark_map`).

Anny's table ships (``avatar/face/data/landmarks_anny_v2.json``) and is built once by this command.
An SMPL-X file's table cannot ship (the files are licensed and differ by release): with
``--smplx-dir`` the command builds it the way ``fitroom avatar create --backend smplx --photo …`` does
on first use, into the avatar cache keyed by the npz's content hash, or reads it from there.
Either way it reports how far MediaPipe's re-detected landmarks on fresh renders lie from the stored
points (÷ the render's inter-ocular distance), and ``--check PNG`` draws both on the frontal render
(red: re-detected, green: stored).

    python -m bench.likeness_map --check avatar/face/data/landmarks_anny_v2_check.png
    python -m bench.likeness_map --smplx-dir ~/models/smplx --sex female
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import typer

from avatar.face.correspondence import CORRESPONDENCE_PATH, Correspondence, save_correspondence
from avatar.face.headview import render_head
from avatar.face.landmark_map import METHOD, build_correspondence, detect_on, reprojection_errors, top_of_head
from avatar.render.mesh import Appearance, PosedBody

log = logging.getLogger(__name__)


def neutral_head() -> tuple[Any, PosedBody]:
    """The default Anny backend and its neutral body in the ``a_pose`` (the head is not posed)."""
    from avatar.body import skeleton
    from avatar.body.models import create

    body = create("anny")
    shape = body.default_shape("unspecified")[None]
    with torch.no_grad():
        out = body.forward(shape, skeleton.named_pose("a_pose")[None])
    return body, PosedBody.from_output(out)


def draw_check(body: PosedBody, corr: Correspondence) -> np.ndarray:
    """The frontal render with re-detected landmarks (red) and the stored points (green)."""
    view = render_head(body, Appearance(), 0.0)
    landmarks = detect_on(view)
    px, _ = view.camera.project(corr.points(body.vertices, body.faces))
    out = np.ascontiguousarray(view.buffers.color.copy())
    for a, b in zip(landmarks[:, :2], px, strict=True):
        cv2.line(out, tuple(int(v) for v in np.round(a)), tuple(int(v) for v in np.round(b)),
                 (255, 255, 0), 1, cv2.LINE_AA)
        cv2.circle(out, tuple(int(v) for v in np.round(a)), 1, (255, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(out, tuple(int(v) for v in np.round(b)), 1, (0, 170, 0), -1, cv2.LINE_AA)
    return out


def anny_map(out: Path) -> tuple[PosedBody, Correspondence, dict[str, Any]]:
    """Build Anny's table into ``out``; the neutral body, the table and its spread figures."""
    anny, body = neutral_head()
    corr, spread = build_correspondence(body, top_of_head(body))
    save_correspondence(corr, out, {
        "version": 2,
        "model": f"anny {anny.version}, default topology, neutral phenotype (unspecified sex), a_pose",
        "n_vertices": int(len(body.vertices)),
        "n_faces": int(len(body.faces)),
        "method": METHOD,
        "held_out": "landmarks with index % 5 == 0 are never fitted, only scored",
        "spread_mm_median": round(float(np.median(spread)) * 1000, 2),
    })
    log.info("wrote %d landmark rows to %s", len(corr.triangles), out)
    return body, corr, {"spread_mm": {"median": round(float(np.median(spread)) * 1000, 2),
                                      "p95": round(float(np.percentile(spread, 95)) * 1000, 2)}}


def smplx_map(folder: Path, sex: str) -> tuple[PosedBody, Correspondence, dict[str, Any]]:
    """The SMPL-X file's table (built into the cache or read from it), with how long that took."""
    from avatar.body.models.smplx_backend import SmplxBody, smplx_file
    from avatar.face.smplx_landmarks import neutral_body, smplx_correspondence

    body = SmplxBody(sex=sex, model_dir=folder)  # type: ignore[arg-type]
    start = time.perf_counter()
    cached = smplx_correspondence(body, smplx_file(sex, folder))  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    return neutral_body(body), cached.correspondence, {
        "cache": str(cached.path), "built": cached.built, "seconds": round(seconds, 2)}


def _main() -> None:
    from PIL import Image

    parser = argparse.ArgumentParser(prog="python -m bench.likeness_map", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=CORRESPONDENCE_PATH,
                        help="where Anny's table goes (default: the shipped one)")
    parser.add_argument("--smplx-dir", type=Path, help="folder of SMPLX_{NEUTRAL,FEMALE,MALE}.npz")
    parser.add_argument("--sex", default="unspecified", choices=["unspecified", "female", "male"])
    parser.add_argument("--check", type=Path, help="write a PNG of the stored points on the render")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    body, corr, report = smplx_map(args.smplx_dir, args.sex) if args.smplx_dir else anny_map(args.out)
    report["reprojection_error_iod"] = reprojection_errors(body, corr)
    if args.check:
        args.check.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(draw_check(body, corr)).save(args.check)
        log.info("wrote the check render to %s", args.check)
    typer.echo(json.dumps(report))


if __name__ == "__main__":
    _main()
