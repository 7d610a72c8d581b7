"""Build the dense landmark correspondence of any body mesh: render its head, re-detect, lift onto it.

One builder for every body model: Anny's shipped table (``python -m bench.likeness_map``) and each
SMPL-X file's own table (built on first use, :mod:`avatar.face.smplx_landmarks`). The neutral head is
rendered with the project's GL renderer from a few yaw angles; MediaPipe face mesh runs on each
render; every one of the 478 landmarks is lifted onto the rendered surface through the depth buffer;
the lifted points are averaged over the views that see the point squarely (weight: cosine of the
surface normal to the view, squared) and snapped to the closest point of the model's head region,
stored as a triangle and barycentric weights.
"""

from __future__ import annotations

import logging

import numpy as np
import trimesh
from numpy.typing import NDArray

from avatar.face.analysis import LEFT_IRIS, N_LANDMARKS, RIGHT_IRIS, detect_faces
from avatar.face.correspondence import Correspondence
from avatar.face.headview import HEAD_DEPTH_M, HeadView, render_head
from avatar.render.mesh import Appearance, PosedBody

log = logging.getLogger(__name__)

YAWS_DEG = (-24.0, -12.0, 0.0, 12.0, 24.0)
LIP_WINDOW_PX = 3  # depth is the front-most within this many pixels: inner-lip points stay on the lips
MIN_FACING = 0.1  # floor of the facing cosine: points inside the lips face no view squarely
METHOD = ("MediaPipe face mesh on GL renders of the neutral head at yaw "
          + ", ".join(f"{y:g}" for y in YAWS_DEG)
          + " degrees, lifted through the depth buffer (through a gap: front-most within 3 px), "
          "averaged (weight: facing cosine squared, floored at 0.1), snapped to the closest head "
          "surface point (avatar.face.landmark_map)")


def top_of_head(body: PosedBody) -> NDArray[np.bool_]:
    """(F,) triangles whose corners all lie within ``HEAD_DEPTH_M`` of the top: the head region of a
    model without a head label of its own (Anny's table is built on this)."""
    top = body.vertices[:, 1].max() - HEAD_DEPTH_M
    return np.asarray(np.all(body.vertices[body.faces][:, :, 1] > top, axis=1))


class LandmarkMapError(RuntimeError):
    """A body model's head cannot be mapped: MediaPipe finds no single face on its renders. The model's
    file is at fault, not the shopper's photo, so the service answers 503 naming the backend."""


def detect_on(view: HeadView) -> NDArray[np.float64]:
    """MediaPipe's (478, 3) landmarks on one render, in pixels; exactly one face must be found."""
    found = detect_faces(np.ascontiguousarray(view.buffers.color))
    if len(found) != 1:
        raise LandmarkMapError(f"MediaPipe found {len(found)} faces on the head render at yaw "
                               f"{view.yaw_deg:g}°; expected exactly 1")
    return np.asarray(found[0], dtype=np.float64)


def build_correspondence(body: PosedBody, head: NDArray[np.bool_], yaws: tuple[float, ...] = YAWS_DEG,
                         ) -> tuple[Correspondence, NDArray[np.float64]]:
    """The correspondence on ``body``'s triangles, snapped into the ``head`` (F,) triangles, and (478,)
    the spread (metres, weighted RMS) of the lifted points over the views."""
    if head.shape != (len(body.faces),) or not head.any():
        raise ValueError(f"head: expected a non-empty ({len(body.faces)},) triangle mask, got "
                         f"{head.shape} with {int(np.count_nonzero(head))} triangles")
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
        raise LandmarkMapError(f"landmarks {missing.tolist()} fell on the background in every view")
    points /= weights[:, None]
    spread = np.sqrt(sum(w * ((p - points) ** 2).sum(axis=1) for p, w in lifted) / weights)
    head_ids = np.flatnonzero(head)
    closest, tri = closest_on_surface(body.vertices[body.faces[head_ids]], points)
    bary = trimesh.triangles.points_to_barycentric(body.vertices[body.faces[head_ids[tri]]], closest)
    bary = np.clip(bary, 0.0, None)
    bary /= bary.sum(axis=1, keepdims=True)
    log.info("landmark map: %d landmarks over %d views, median spread %.1f mm", N_LANDMARKS, len(yaws),
             float(np.median(spread)) * 1000)
    return Correspondence(triangles=head_ids[tri].astype(np.int64), bary=bary), np.asarray(spread)


def closest_on_surface(triangles: NDArray[np.float64], points: NDArray[np.float64],
                       k: int = 24) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """For each point (N, 3), the closest point on the triangles (T, 3, 3) and that triangle's index,
    searched among the ``k`` triangles with the nearest centroids."""
    from scipy.spatial import cKDTree

    k = min(k, len(triangles))
    _, near = cKDTree(triangles.mean(axis=1)).query(points, k=k)
    near = near.reshape(len(points), k)
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
