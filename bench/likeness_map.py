"""Build and check the dense MediaPipe-landmark → Anny-surface correspondence (``landmarks_anny_v2.json``).

Built once, not at run time. Anny's neutral head is rendered with the project's GL renderer from
several yaw angles; MediaPipe face mesh runs on each render; every one of the 478 landmarks is lifted
onto the rendered surface through the depth buffer; the lifted points are averaged over the views that
see the point squarely (weight: cosine of the surface normal to the view, squared) and snapped to the
closest point of the head's surface, stored as a triangle and barycentric weights.
``--check PNG`` draws the stored points (green) and MediaPipe's re-detected landmarks (red) on the
frontal render, and the command reports how far apart they are in every view.

    python -m bench.likeness_map --check avatar/face/data/landmarks_anny_v2_check.png
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import trimesh
import typer

from avatar.face.analysis import LEFT_IRIS, N_LANDMARKS, RIGHT_IRIS, detect_faces
from avatar.face.correspondence import CORRESPONDENCE_PATH, Correspondence
from avatar.face.headview import HEAD_DEPTH_M, HeadView, render_head
from avatar.render.mesh import Appearance, PosedBody

log = logging.getLogger(__name__)

YAWS_DEG = (-24.0, -12.0, 0.0, 12.0, 24.0)
LIP_WINDOW_PX = 3  # depth is the front-most within this many pixels: inner-lip points stay on the lips
MIN_FACING = 0.1  # floor of the facing cosine: points inside the lips face no view squarely


def neutral_head() -> tuple[Any, PosedBody]:
    """The default Anny backend and its neutral body in the ``a_pose`` (the head is not posed)."""
    from avatar.body import skeleton
    from avatar.body.models import create

    body = create("anny")
    shape = body.default_shape("unspecified")[None]
    with torch.no_grad():
        out = body.forward(shape, skeleton.named_pose("a_pose")[None])
    return body, PosedBody.from_output(out)


def detect_on(view: HeadView) -> np.ndarray:
    """MediaPipe's (478, 3) landmarks on one render, in pixels; exactly one face must be found."""
    found = detect_faces(np.ascontiguousarray(view.buffers.color))
    if len(found) != 1:
        raise ValueError(f"MediaPipe found {len(found)} faces on the head render at yaw "
                         f"{view.yaw_deg:g}°; expected exactly 1")
    return found[0]


def build_correspondence(body: PosedBody, yaws: tuple[float, ...] = YAWS_DEG,
                         ) -> tuple[Correspondence, np.ndarray]:
    """The correspondence and (478,) the spread (metres, weighted RMS) of the lifted points over views."""
    points = np.zeros((N_LANDMARKS, 3))
    weights = np.zeros(N_LANDMARKS)
    lifted = []
    for yaw in yaws:
        view = render_head(body, Appearance(), yaw)
        landmarks = detect_on(view)
        world, hit = view.unproject(landmarks[:, :2], window=LIP_WINDOW_PX)
        w = np.where(hit, np.clip(view.facing(landmarks[:, :2]), MIN_FACING, None) ** 2, 0.0)
        points += w[:, None] * world
        weights += w
        lifted.append((world, w))
    if (weights <= 0).any():
        missing = np.flatnonzero(weights <= 0)
        raise ValueError(f"landmarks {missing.tolist()} fell on the background in every view")
    points /= weights[:, None]
    spread = np.sqrt(sum(w * ((p - points) ** 2).sum(axis=1) for p, w in lifted) / weights)
    head = np.all(body.vertices[body.faces][:, :, 1] > body.vertices[:, 1].max() - HEAD_DEPTH_M, axis=1)
    head_ids = np.flatnonzero(head)
    closest, tri = closest_on_surface(body.vertices[body.faces[head_ids]], points)
    bary = trimesh.triangles.points_to_barycentric(body.vertices[body.faces[head_ids[tri]]], closest)
    bary = np.clip(bary, 0.0, None)
    bary /= bary.sum(axis=1, keepdims=True)
    return Correspondence(triangles=head_ids[tri].astype(np.int64), bary=bary), spread


def closest_on_surface(triangles: np.ndarray, points: np.ndarray,
                       k: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """For each point (N, 3), the closest point on the triangles (T, 3, 3) and that triangle's index,
    searched among the ``k`` triangles with the nearest centroids."""
    from scipy.spatial import cKDTree

    _, near = cKDTree(triangles.mean(axis=1)).query(points, k=k)
    candidates = trimesh.triangles.closest_point(triangles[near.reshape(-1)], np.repeat(points, k, axis=0))
    dist = np.linalg.norm(candidates - np.repeat(points, k, axis=0), axis=1).reshape(-1, k)
    best = dist.argmin(axis=1)
    rows = np.arange(len(points))
    return candidates.reshape(-1, k, 3)[rows, best], near[rows, best]


def reprojection_errors(body: PosedBody, corr: Correspondence,
                        yaws: tuple[float, ...] = YAWS_DEG) -> dict[str, float]:
    """Per yaw: mean image distance between the stored points and re-detected landmarks, ÷ the
    render's inter-ocular distance (the unit of the likeness errors)."""
    stored = corr.points(body.vertices, body.faces)
    out = {}
    for yaw in yaws:
        view = render_head(body, Appearance(), yaw)
        landmarks = detect_on(view)
        px, _ = view.camera.project(stored)
        iod = float(np.linalg.norm(landmarks[LEFT_IRIS, :2] - landmarks[RIGHT_IRIS, :2]))
        out[f"yaw{yaw:g}"] = round(float(np.linalg.norm(px - landmarks[:, :2], axis=1).mean() / iod), 4)
    return out


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


def _main() -> None:
    from PIL import Image

    parser = argparse.ArgumentParser(prog="python -m bench.likeness_map", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=CORRESPONDENCE_PATH)
    parser.add_argument("--check", type=Path, help="write a PNG of the stored points on the render")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    anny, body = neutral_head()
    corr, spread = build_correspondence(body)
    rows = [[int(t), *(round(float(b), 6) for b in w)]
            for t, w in zip(corr.triangles, corr.bary, strict=True)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "version": 2,
        "model": f"anny {anny.version}, default topology, neutral phenotype (unspecified sex), a_pose",
        "n_vertices": int(len(body.vertices)),
        "n_faces": int(len(body.faces)),
        "method": "MediaPipe face mesh on GL renders of the neutral head at yaw "
                  + ", ".join(f"{y:g}" for y in YAWS_DEG)
                  + " degrees, lifted through the depth buffer (through a gap: front-most within 3 px), "
                  "averaged (weight: facing cosine squared, floored at 0.1), snapped to the closest head "
                  "surface point (python -m bench.likeness_map)",
        "held_out": "landmarks with index % 5 == 0 are never fitted, only scored",
        "spread_mm_median": round(float(np.median(spread)) * 1000, 2),
        "landmarks": rows,
    }) + "\n")
    log.info("wrote %d landmark rows to %s (median spread over views %.1f mm)", len(rows), args.out,
             float(np.median(spread)) * 1000)
    report = {"reprojection_error_iod": reprojection_errors(body, corr),
              "spread_mm": {"median": round(float(np.median(spread)) * 1000, 2),
                            "p95": round(float(np.percentile(spread, 95)) * 1000, 2)}}
    if args.check:
        args.check.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(draw_check(body, corr)).save(args.check)
        log.info("wrote the check render to %s", args.check)
    typer.echo(json.dumps(report))


if __name__ == "__main__":
    _main()
