"""A smooth residual warp of the face, for what the local-change basis cannot express.

After the basis fit, each fitted landmark still misses the photo's by a small residual. A thin-plate
spline (``scipy.interpolate.RBFInterpolator``) through those residuals, with zero-displacement anchors
on a ring around the face, gives a smooth displacement field; it is applied to the face only:

- confined: a vertex moves only within ``REACH_M`` of a landmark, fading to zero over ``FADE_M``, and
  never below the chin (so the neck, the back of the head and the whole body stay exactly where they
  were, and the body's measurements cannot change);
- rigid parts stay rigid: the eyeballs and the mouth's inside (separate pieces of the mesh) move as
  a whole, by the warp's mean over them, so the eyes keep their shape and stay behind the lids;
- untorn: where a moved triangle would flip (thin folds: eyelids, lips), the warp is halved on its
  corners, again until no triangle flips.

Entry point: :func:`face_warp`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import RBFInterpolator
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

log = logging.getLogger(__name__)

REACH_M = 0.015  # vertices this close to a landmark take the full warp
FADE_M = 0.045  # … and it fades to zero (smoothly) over this much further distance
ANCHOR_M = 0.065  # zero-displacement anchors sit on vertices this far from the landmarks
BELOW_CHIN_M = 0.005  # nothing lower than this under the chin landmark moves
SMOOTHING = 2e-6  # TPS smoothing (m²): landmark noise of a few tenths of a millimetre is not followed
MAX_ROUNDS = 40


@dataclass(frozen=True)
class Warp:
    """(V, 3) vertex offsets (the same frame as the input vertices) and the share of the spline's moving
    vertices that kept it whole (the rest were damped to keep every triangle's orientation)."""

    offsets: NDArray[np.float64]
    kept: float


def face_mask(vertices: NDArray[np.float64], landmarks: NDArray[np.float64], chin_height: float,
              up: int = 1) -> NDArray[np.float64]:
    """(V,) weight of the warp per vertex: 1 near the landmarks, 0 beyond ``REACH_M + FADE_M`` of them
    and below the chin. ``up`` is the axis that points up in the vertices' frame."""
    dist, _ = cKDTree(landmarks).query(vertices, distance_upper_bound=REACH_M + FADE_M + 1e-3)
    t = np.clip(1.0 - (np.nan_to_num(dist, posinf=1.0) - REACH_M) / FADE_M, 0.0, 1.0)
    weight = t * t * (3.0 - 2.0 * t)  # smoothstep: no crease where the fade starts or ends
    weight[vertices[:, up] < chin_height - BELOW_CHIN_M] = 0.0
    return weight


def pieces(faces: NDArray[np.integer], n_vertices: int) -> NDArray[np.int64]:
    """(V,) the connected piece of the mesh each vertex belongs to; 0 is the largest (the skin)."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n_vertices, n_vertices))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(-np.bincount(labels))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return np.asarray(rank[labels], dtype=np.int64)


def flipped_triangles(vertices: NDArray[np.float64], moved: NDArray[np.float64],
                      faces: NDArray[np.integer]) -> NDArray[np.bool_]:
    """(F,) which triangles turn over (their normal reverses) between ``vertices`` and ``moved``."""
    def normals(v: NDArray[np.float64]) -> NDArray[np.float64]:
        tri = v[faces]
        return np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])

    return np.asarray(np.einsum("ij,ij->i", normals(vertices), normals(moved)) <= 0)


def face_warp(vertices: NDArray[np.float64], faces: NDArray[np.integer], landmarks: NDArray[np.float64],
              residuals: NDArray[np.float64], chin_height: float, up: int = 1,
              reference: NDArray[np.float64] | None = None,
              confine: NDArray[np.float64] | None = None) -> Warp:
    """The confined, untorn warp that moves ``landmarks`` (K, 3) on the mesh ``vertices`` (V, 3) by about
    ``residuals`` (K, 3); ``chin_height`` is the chin landmark's height along axis ``up``. No triangle
    turns over against ``vertices`` nor against ``reference`` (the model's own mesh, when ``vertices``
    is already a changed copy of it) unless ``vertices`` had already turned it. ``confine`` (V,) in
    [0, 1] further scales the warp per vertex: a model's own head region (SMPL-X's head skinning
    weights), so the warp never leaves it."""
    weight = face_mask(vertices, landmarks, chin_height, up)
    if confine is not None:
        weight = weight * np.clip(confine, 0.0, 1.0)
    moving = np.flatnonzero(weight > 0)
    offsets = np.zeros_like(vertices)
    if len(moving) == 0:
        return Warp(offsets, 0.0)
    dist, _ = cKDTree(landmarks).query(vertices)
    ring = np.flatnonzero((dist > ANCHOR_M) & (dist < ANCHOR_M + 0.02)
                          & (vertices[:, up] > chin_height - 0.06))
    ring = ring[:: max(1, len(ring) // 200)]
    sites = np.concatenate([landmarks, vertices[ring]])
    values = np.concatenate([residuals, np.zeros((len(ring), 3))])
    spline = RBFInterpolator(sites, values, kernel="thin_plate_spline", smoothing=SMOOTHING)
    field = spline(vertices[moving]) * weight[moving, None]
    piece = pieces(faces, len(vertices))[moving]
    for k in np.unique(piece[piece > 0]):  # eyeballs, the mouth's inside: moved rigidly
        field[piece == k] = field[piece == k].mean(axis=0)
    touched = faces[np.isin(faces, moving).any(axis=1)]
    damp = np.ones(len(vertices))
    # Triangles the basis already turned (against ``reference``) are the basis' doing, not the warp's.
    was = (np.zeros(len(touched), bool) if reference is None
           else flipped_triangles(reference, vertices, touched))
    for _ in range(MAX_ROUNDS):
        offsets[moving] = field * damp[moving, None]
        bad = flipped_triangles(vertices, vertices + offsets, touched)
        if reference is not None:
            bad |= flipped_triangles(reference, vertices + offsets, touched) & ~was
        if not bad.any():
            return Warp(offsets, float((damp[moving] == 1.0).mean()))
        damp[np.unique(touched[bad])] *= 0.5
    log.warning("face warp: triangles still flip after %d rounds of damping; leaving the face unwarped",
                MAX_ROUNDS)
    return Warp(np.zeros_like(vertices), 0.0)
