"""Body measurements as pure, batched, differentiable torch functions of a mesh's vertices.

Nothing here knows a body model: every function takes ``vertices`` (B, V, 3) in metres, Y up (the
frame of :class:`avatar.types.BodyOutput`), plus ``faces`` or a :class:`BaryLoop` found once per
template by :mod:`avatar.body.loops`. Because loop points are fixed barycentric combinations of
vertices, a girth is a differentiable function of the shape parameters, so fitting can use autograd.

Where each measurement is taken (ANSUR II definitions in brackets) is documented in
``docs/measurements.md``; in short:

* stature: top of the head to the sole, along the vertical axis [``stature``];
* girths: the tape-measure length around a loop, i.e. the perimeter of the loop's convex hull in
  its own plane, so a tape bridges hollows such as the cleavage or the spine's groove
  [``chestcircumference``, ``waistcircumference`` at the navel, ``buttockcircumference``,
  ``thighcircumference``, ``neckcircumference``];
* inside leg: crotch landmark height above the sole [``crotchheight``];
* shoulder width: straight distance between the two acromion landmarks [``biacromialbreadth``];
* arm length: acromion → elbow → wrist along the arm's landmarks [``sleeveoutseam``-like];
* mass: enclosed volume (signed tetrahedra) × 985 kg/m³.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import ConvexHull, QhullError

DENSITY_KG_M3 = 1035.0
UP_AXIS = 1


@dataclass(frozen=True)
class BaryLoop:
    """An ordered set of surface points, each a barycentric combination of three vertices.

    Attributes:
        vertex_ids: (P, 3) int64 vertex indices.
        weights: (P, 3) barycentric weights (rows sum to 1).
        closed: whether the points form a closed loop (girth) or a single landmark/polyline.
    """

    vertex_ids: torch.Tensor
    weights: torch.Tensor
    closed: bool = True


def loop_points(vertices: torch.Tensor, loop: BaryLoop) -> torch.Tensor:
    """(B, V, 3) vertices → (B, P, 3) the loop's points on this mesh."""
    corners = vertices[:, loop.vertex_ids]  # (B, P, 3, 3)
    return (corners * loop.weights.to(vertices.dtype)[None, :, :, None]).sum(-2)


def polyline_length(points: torch.Tensor, closed: bool = True) -> torch.Tensor:
    """(B, P, 3) ordered points → (B,) their path length, closing the loop when ``closed``."""
    nxt = torch.roll(points, shifts=-1, dims=1) if closed else points[:, 1:]
    cur = points if closed else points[:, :-1]
    return torch.sqrt(((nxt - cur) ** 2).sum(-1) + 1e-18).sum(-1)


def _hull_order(points: np.ndarray) -> np.ndarray:
    """Indices of the 2-D convex hull of ``points`` (P, 2), counter-clockwise (Qhull, in C: a
    girth is measured at every fitting step, and a Python hull loop was a fifth of a fit's time)."""
    try:
        return np.asarray(ConvexHull(points).vertices)
    except QhullError as exc:
        raise ValueError(f"loop: its {len(points)} points are degenerate (no 2-D hull): {exc}") from exc


def girth(vertices: torch.Tensor, loop: BaryLoop) -> torch.Tensor:
    """(B,) tape-measure girth in metres: the convex-hull perimeter of the loop in its own plane.

    The hull's membership is chosen without gradient (it is piecewise constant); the perimeter of
    the chosen points carries the gradient.
    """
    points = loop_points(vertices, loop)
    out = []
    for b in range(points.shape[0]):
        p = points[b].detach().double().cpu().numpy()
        centred = p - p.mean(0)
        # The loop's plane: drop the direction of least spread.
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        hull = _hull_order(centred @ vt[:2].T)
        out.append(polyline_length(points[b : b + 1, torch.from_numpy(hull)], closed=True)[0])
    return torch.stack(out)


def stature(vertices: torch.Tensor) -> torch.Tensor:
    """(B,) height in metres from the lowest to the highest vertex along Y (standing pose)."""
    up = vertices[..., UP_AXIS]
    return up.amax(1) - up.amin(1)


def landmark(vertices: torch.Tensor, loop: BaryLoop) -> torch.Tensor:
    """(B, 3) a single landmark: the mean of the loop's points (one point for a landmark)."""
    return loop_points(vertices, loop).mean(1)


def height_above_sole(vertices: torch.Tensor, point: BaryLoop) -> torch.Tensor:
    """(B,) vertical distance of a landmark above the lowest vertex (the floor), metres."""
    return landmark(vertices, point)[:, UP_AXIS] - vertices[..., UP_AXIS].amin(1)


def distance(vertices: torch.Tensor, a: BaryLoop, b: BaryLoop) -> torch.Tensor:
    """(B,) straight distance between two landmarks, metres."""
    return torch.sqrt(((landmark(vertices, a) - landmark(vertices, b)) ** 2).sum(-1) + 1e-18)


def volume(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(B,) enclosed volume in m³ by signed tetrahedra against the origin (closed, oriented mesh)."""
    v0, v1, v2 = (vertices[:, faces[:, k]] for k in range(3))
    return (torch.linalg.cross(v0, v1, dim=-1) * v2).sum(-1).sum(-1).abs() / 6.0


def mass(vertices: torch.Tensor, faces: torch.Tensor, density: float = DENSITY_KG_M3) -> torch.Tensor:
    """(B,) body mass in kg: enclosed volume × density (985 kg/m³ by default)."""
    return volume(vertices, faces) * density


def measure(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    loops: dict[str, BaryLoop],
    names: tuple[str, ...] | None = None,
) -> dict[str, torch.Tensor]:
    """Every vocabulary measurement (or just ``names``) of a batch of meshes, (B,) each, cm / kg.

    ``loops`` are the template's loops and landmarks from :mod:`avatar.body.loops` (``bust``,
    ``underbust``, ``waist``, ``hip``, ``thigh``, ``neck``, ``crotch``, ``acromion_left``,
    ``acromion_right``, ``elbow_left``, ``wrist_left``).
    """

    def arm() -> torch.Tensor:
        return distance(vertices, loops["acromion_left"], loops["elbow_left"]) + distance(
            vertices, loops["elbow_left"], loops["wrist_left"]
        )

    table = {
        "stature_cm": lambda: stature(vertices) * 100.0,
        "body_mass_kg": lambda: mass(vertices, faces),
        "bust_girth_cm": lambda: girth(vertices, loops["bust"]) * 100.0,
        "underbust_girth_cm": lambda: girth(vertices, loops["underbust"]) * 100.0,
        "waist_girth_cm": lambda: girth(vertices, loops["waist"]) * 100.0,
        "hip_girth_cm": lambda: girth(vertices, loops["hip"]) * 100.0,
        "thigh_girth_cm": lambda: girth(vertices, loops["thigh"]) * 100.0,
        "neck_girth_cm": lambda: girth(vertices, loops["neck"]) * 100.0,
        "inside_leg_cm": lambda: height_above_sole(vertices, loops["crotch"]) * 100.0,
        "shoulder_width_cm": lambda: (
            distance(vertices, loops["acromion_left"], loops["acromion_right"]) * 100.0
        ),
        "arm_length_cm": lambda: arm() * 100.0,
    }
    wanted = names if names is not None else tuple(table)
    unknown = [n for n in wanted if n not in table]
    if unknown:
        raise ValueError(f"names: unknown measurements {unknown}; expected some of {list(table)}")
    return {n: table[n]() for n in wanted}
