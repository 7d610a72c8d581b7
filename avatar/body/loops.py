"""Measurement loops and landmarks, found once per template and cached as versioned, hashed files.

A girth loop is found by slicing the template mesh with a plane at an anatomical landmark and
keeping the closed cut that surrounds the landmark; every cut point lies on a mesh edge, so it is
stored as a barycentric combination of the edge's two vertices. Afterwards the loop is pure data:
:func:`avatar.body.anthropometry.girth` measures it on any shape of the same topology, differentiably.

Where each plane goes (template in the SMPL-X frame: Y up, +Z forward, +X the body's left):

==========  ==================================================================================
bust        horizontal, at the most forward torso point between spine1 and neck (bust / nipple)
underbust   horizontal, 2–12 cm below the bust, where the front of the chest is least prominent
waist       horizontal, at the navel: the deepest dent of the front midline above the pelvis
hip         horizontal, at the most backward point of the buttocks (ANSUR buttock circumference)
thigh       horizontal, 3 cm below the crotch, left leg (ANSUR thigh circumference, gluteal fold)
neck        perpendicular to neck→head, 20 % of the way up: the neck base / collar line
            (ANSUR ``neckcircumferencebase``)
==========  ==================================================================================

Landmarks (single vertices, chosen on each template from its joints and the extremes of a region):

* ``crotch``: the lowest midline vertex of the torso between the legs;
* ``acromion_left``/``_right``: the top of the shoulder over a point 1.5 cm lateral of the shoulder
  joint's centre, where the acromion's edge lies;
* ``elbow_left``: the skin point nearest the elbow joint on its lateral side;
* ``wrist_left``: the radial styloid, the wrist's thumb-side skin point level with the wrist joint.

Anny's shape changes keep vertex correspondence, so a vertex chosen at an anatomical site on the
template stays at that site for every shape, and measurements are taken in the fixed rest pose.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch

from avatar.body.anthropometry import BaryLoop
from avatar.body.models.base import BodyModel
from avatar.body.skeleton import SMPLX_JOINT_NAMES
from avatar.paths import avatar_cache_dir
from avatar.types import Sex

log = logging.getLogger(__name__)

LOOPS_VERSION = 3
ACROMION_LATERAL_M = 0.015
ACROMION_RADIUS_M = 0.02
GIRTH_LOOPS = ("bust", "underbust", "waist", "hip", "thigh", "neck")
LANDMARKS = ("crotch", "acromion_left", "acromion_right", "elbow_left", "wrist_left")
TORSO_PARTS = ("pelvis", "spine1", "spine2", "spine3", "left_collar", "right_collar")


def _j(joints: np.ndarray, name: str) -> np.ndarray:
    return joints[SMPLX_JOINT_NAMES.index(name)]


def slice_mesh(
    vertices: np.ndarray, faces: np.ndarray, origin: np.ndarray, normal: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every closed cut of the mesh by a plane, as (edges (P, 2) vertex ids, t (P,)) per loop.

    Point k of a loop is ``(1 - t[k]) * v[edges[k, 0]] + t[k] * v[edges[k, 1]]``.
    """
    d = (vertices - origin) @ (normal / np.linalg.norm(normal))
    d = np.where(d == 0.0, 1e-12, d)
    face_edges = np.stack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]], 1)  # (F, 3, 2)
    crossing = d[face_edges[..., 0]] * d[face_edges[..., 1]] < 0
    cut = crossing.sum(1) == 2
    n = len(vertices)
    keys = np.sort(face_edges, -1)
    keys = keys[..., 0].astype(np.int64) * n + keys[..., 1]
    neighbours: dict[int, list[int]] = {}
    for face_keys, face_cross in zip(keys[cut], crossing[cut], strict=True):
        a, b = face_keys[face_cross]
        neighbours.setdefault(int(a), []).append(int(b))
        neighbours.setdefault(int(b), []).append(int(a))
    loops, seen = [], set()
    for start in neighbours:
        if start in seen:
            continue
        chain, prev, cur = [start], -1, start
        seen.add(start)
        while True:
            options = [k for k in neighbours[cur] if k != prev]
            if not options or options[0] == start or options[0] in seen:
                break
            prev, cur = cur, options[0]
            chain.append(cur)
            seen.add(cur)
        if len(chain) < 3 or start not in neighbours[cur]:
            continue  # open cut at a mesh border: not a girth
        edges = np.array([[k // n, k % n] for k in chain], dtype=np.int64)
        t = d[edges[:, 0]] / (d[edges[:, 0]] - d[edges[:, 1]])
        loops.append((edges, t))
    return loops


def _plane_basis(normal: np.ndarray) -> np.ndarray:
    normal = normal / np.linalg.norm(normal)
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    u = np.cross(normal, helper)
    u /= np.linalg.norm(u)
    return np.stack([u, np.cross(normal, u)])


def _inside(polygon: np.ndarray, point: np.ndarray) -> bool:
    """Even-odd rule point-in-polygon test in 2-D."""
    x, y = point
    xs, ys = polygon[:, 0], polygon[:, 1]
    xn, yn = np.roll(xs, -1), np.roll(ys, -1)
    crosses = ((ys > y) != (yn > y)) & (x < (xn - xs) * (y - ys) / (yn - ys + 1e-300) + xs)
    return bool(crosses.sum() % 2)


def loop_around(
    vertices: np.ndarray, faces: np.ndarray, origin: np.ndarray, normal: np.ndarray, around: np.ndarray
) -> BaryLoop:
    """The closed cut of the plane (origin, normal) that surrounds ``around`` (else the nearest one)."""
    cuts = slice_mesh(vertices, faces, origin, normal)
    if not cuts:
        raise ValueError(f"loops: the plane at {origin.round(3).tolist()} does not cut the mesh")
    basis = _plane_basis(normal)
    target = basis @ around
    best, best_score = cuts[0], np.inf
    for edges, t in cuts:
        points = vertices[edges[:, 0]] * (1 - t)[:, None] + vertices[edges[:, 1]] * t[:, None]
        flat = points @ basis.T
        score = -1.0 if _inside(flat, target) else float(np.linalg.norm(flat.mean(0) - target))
        if score < best_score or (score == -1.0 and best_score == -1.0 and len(edges) > len(best[0])):
            best, best_score = (edges, t), score
    edges, t = best
    ids = np.stack([edges[:, 0], edges[:, 1], edges[:, 0]], 1)
    weights = np.stack([1 - t, t, np.zeros_like(t)], 1)
    return BaryLoop(torch.from_numpy(ids), torch.from_numpy(weights), closed=True)


def _point(vertex: int) -> BaryLoop:
    return BaryLoop(torch.tensor([[vertex] * 3]), torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64), False)


def find_loops(
    vertices: np.ndarray, faces: np.ndarray, joints: np.ndarray, part_labels: np.ndarray
) -> dict[str, BaryLoop]:
    """Slice one template (V, 3) / (F, 3) with SMPL-X joints (55, 3) into every loop and landmark."""
    x, y, z = vertices.T
    up = np.array([0.0, 1.0, 0.0])
    torso = np.isin(part_labels, [SMPLX_JOINT_NAMES.index(p) for p in TORSO_PARTS])
    pelvis, neck, head = _j(joints, "pelvis"), _j(joints, "neck"), _j(joints, "head")
    axis = np.array([0.0, 0.0, pelvis[2]])
    out: dict[str, BaryLoop] = {}

    midline = np.abs(x) < 0.012
    between = midline & (y < pelvis[1]) & (y > _j(joints, "left_knee")[1])
    crotch = int(np.flatnonzero(between)[np.argmin(y[between])])
    out["crotch"] = _point(crotch)

    chest = torso & (np.abs(x) > 0.03) & (np.abs(x) < 0.15) & (y > _j(joints, "spine1")[1]) & (y < neck[1])
    bust_y = y[chest][np.argmax(z[chest])]
    out["bust"] = loop_around(vertices, faces, np.array([0, bust_y, 0]), up, axis + [0, bust_y, 0])

    band = torso & (np.abs(x) > 0.03) & (np.abs(x) < 0.15)
    heights = np.arange(bust_y - 0.12, bust_y - 0.02, 0.005)
    front = [z[band & (np.abs(y - h) < 0.004)].max(initial=-np.inf) for h in heights]
    under_y = heights[int(np.argmin(front))]
    out["underbust"] = loop_around(vertices, faces, np.array([0, under_y, 0]), up, axis + [0, under_y, 0])

    belly = midline & (z > pelvis[2]) & (y > pelvis[1]) & (y < bust_y - 0.05)
    order = np.argsort(y[belly])
    profile_y, profile_z = y[belly][order], z[belly][order]
    smooth = np.array([profile_z[np.abs(profile_y - h) < 0.03].mean() for h in profile_y])
    waist_y = profile_y[int(np.argmin(profile_z - smooth))]
    out["waist"] = loop_around(vertices, faces, np.array([0, waist_y, 0]), up, axis + [0, waist_y, 0])

    seat = (np.abs(x) < 0.15) & (y > y[crotch]) & (y < pelvis[1] + 0.1) & (z < pelvis[2])
    hip_y = y[seat][np.argmin(z[seat])]
    out["hip"] = loop_around(vertices, faces, np.array([0, hip_y, 0]), up, axis + [0, hip_y, 0])

    thigh_y = y[crotch] - 0.03
    left_hip = _j(joints, "left_hip")
    out["thigh"] = loop_around(
        vertices, faces, np.array([0, thigh_y, 0]), up, np.array([left_hip[0], thigh_y, left_hip[2]])
    )

    neck_point = neck + 0.2 * (head - neck)
    out["neck"] = loop_around(vertices, faces, neck_point, head - neck, neck_point)

    for side, sign in (("left", 1.0), ("right", -1.0)):
        out[f"acromion_{side}"] = _point(acromion_vertex(vertices, _j(joints, f"{side}_shoulder"), sign))
    elbow = _j(joints, "left_elbow")
    outside = np.linalg.norm(vertices - elbow, axis=1) + np.where(x > elbow[0], 0.0, np.inf)
    out["elbow_left"] = _point(int(np.argmin(outside)))
    out["wrist_left"] = _point(radial_styloid_vertex(vertices, joints))
    return out


def acromion_vertex(vertices: np.ndarray, joint: np.ndarray, sign: float) -> int:
    """The acromion: the skin on top of the shoulder over a point :data:`ACROMION_LATERAL_M` lateral
    of the shoulder joint's centre (the acromion's edge overhangs the humeral head's lateral half),
    i.e. the highest vertex within :data:`ACROMION_RADIUS_M` of that vertical line."""
    x, y, z = vertices.T
    line = joint + np.array([sign * ACROMION_LATERAL_M, 0.0, 0.0])
    for radius in (ACROMION_RADIUS_M, 2 * ACROMION_RADIUS_M):  # coarse meshes need a wider search
        near = (np.hypot(x - line[0], z - line[2]) < radius) & (y > joint[1]) & (y < joint[1] + 0.2)
        if near.any():
            return int(np.flatnonzero(near)[np.argmax(y[near])])
    raise ValueError(f"loops: no skin vertex above the shoulder joint at {joint.round(3).tolist()}")


def radial_styloid_vertex(vertices: np.ndarray, joints: np.ndarray) -> int:
    """The radial styloid: the skin point of the wrist's thumb side, level with the wrist joint
    (within 1 cm along the forearm), furthest towards the thumb."""
    wrist, elbow, thumb = (_j(joints, n) for n in ("left_wrist", "left_elbow", "left_thumb1"))
    axis = (wrist - elbow) / np.linalg.norm(wrist - elbow)
    towards = (thumb - wrist) - np.dot(thumb - wrist, axis) * axis
    towards /= np.linalg.norm(towards)
    offset = vertices - wrist
    level = (np.abs(offset @ axis) < 0.01) & (np.linalg.norm(offset, axis=1) < 0.06)
    if not level.any():
        raise ValueError(f"loops: no skin vertex around the wrist joint at {wrist.round(3).tolist()}")
    return int(np.flatnonzero(level)[np.argmax((offset @ towards)[level])])


_MEMORY: dict[Path, dict[str, BaryLoop]] = {}  # loops already read in this process, by cache file
_BY_BODY: dict[tuple[int, str, str], dict[str, BaryLoop]] = {}


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha1(f"loops-v{LOOPS_VERSION}".encode())
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def cached_loops(
    tag: str, vertices: np.ndarray, faces: np.ndarray, joints: np.ndarray, part_labels: np.ndarray
) -> dict[str, BaryLoop]:
    """:func:`find_loops` once per template: read from / write to ``loops/v{N}/{tag}_{hash}.npz``."""
    vertices = vertices.astype(np.float32)
    path = Path(avatar_cache_dir()) / "loops" / f"v{LOOPS_VERSION}" / f"{tag}_{_digest(vertices, faces)}.npz"
    if path in _MEMORY:
        return _MEMORY[path]
    if path.exists():
        data = np.load(path)
        _MEMORY[path] = {
            name: BaryLoop(
                torch.from_numpy(data[f"{name}.ids"]),
                torch.from_numpy(data[f"{name}.w"]),
                bool(data[f"{name}.closed"]),
            )
            for name in GIRTH_LOOPS + LANDMARKS
        }
        return _MEMORY[path]
    log.info("finding measurement loops for template %s (once) …", tag)
    loops = find_loops(vertices.astype(np.float64), faces, joints.astype(np.float64), part_labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for name, loop in loops.items():
        arrays[f"{name}.ids"] = loop.vertex_ids.numpy()
        arrays[f"{name}.w"] = loop.weights.numpy()
        arrays[f"{name}.closed"] = np.array(loop.closed)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    _MEMORY[path] = loops
    return loops


def template_loops(body: BodyModel, sex: Sex = "unspecified") -> dict[str, BaryLoop]:
    """The loops of ``body``'s average template for ``sex``, found once and cached (on disk, and in
    memory per body model instance)."""
    key = (id(body), body.version, sex)
    if key in _BY_BODY:
        return _BY_BODY[key]
    shape = body.default_shape(sex)[None]
    with torch.no_grad():
        vertices = body.measurement_vertices(shape)[0].double().numpy()
        joints = body.measurement_joints(shape)[0].double().numpy()
    faces = body.faces.numpy()
    _BY_BODY[key] = cached_loops(f"{body.kind}-{sex}", vertices, faces, joints, body.part_labels.numpy())
    return _BY_BODY[key]
