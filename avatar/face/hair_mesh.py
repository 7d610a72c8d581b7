"""A hair mesh on the avatar's scalp, from what the photo said about the hair (:mod:`avatar.face.hair`).

Entry points: :class:`HairStyle` (the measurements the mesh needs, stored in ``params.json`` so a
re-posed avatar gets the same hair) and :func:`build_hair_mesh` (a posed body → :class:`HairMesh`).

The mesh is a closed shell over the scalp, built in the head's own frame (eye joints and the
neck-to-head axis), so it follows any pose of the head. Directions from a point inside the skull are
sampled on a polar grid; along each, the scalp is the farthest head vertex near that direction. The
shell covers the scalp above a boundary that runs from the photo's hairline over the forehead, down
past the temples to the sideburns and round to the nape; its thickness grows from the hairline to
what the frontal silhouette shows at the top and at the temples. Medium and long hair add a
double-sided curtain that falls from the sides and the back to the photo's length, kept clear of the
neck and shoulders; tied-back hair adds a bun. Lengths come in inter-ocular units and become metres
through the body's own eye distance. The hair is a separate mesh: it never enters the body's
vertices, so it never changes a measurement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from avatar.face.hair import HairAnalysis

HEAD, JAW, L_EYE, R_EYE, NECK = 15, 22, 23, 24, 12
HEAD_LABELS = (HEAD, JAW, L_EYE, R_EYE)
MIN_THICKNESS_M = 0.004  # the shell never sinks closer than this to the scalp
CONE_DEG = 12.0  # a scalp sample takes the vertices within this angle of its direction
N_AZIMUTH = 72
N_POLAR = 20  # rows of the cap from the crown to its boundary
N_CURTAIN = 16  # rows of a curtain from the cap's boundary to its end
CURTAIN_FROM_DEG = 70.0  # curtains hang at azimuths beyond this from the face's forward direction
MAX_FLARE_M = 0.04  # a curtain moves at most this far out from where it leaves the scalp
HAIRLINE_MARGIN_IOD = 0.05  # the shell ends this far above the photo's hairline
LOCK_REACH = 0.05  # locks lengthen the shell's polar reach by up to this share
TEMPLE_DEG = 40.0  # azimuth of the temples, where the hairline turns down towards the ears


@dataclass(frozen=True)
class HairStyle:
    """What the hair mesh is built from; lengths in inter-ocular units from the eye line."""

    hair_class: str
    srgb: tuple[int, int, int]
    hairline_iod: float
    top_iod: float
    side_iod: float
    bottom_iod: float

    @classmethod
    def from_analysis(cls, hair: HairAnalysis) -> HairStyle | None:
        """The style of a drawn hair analysis (None when the hair is left out)."""
        if not hair.drawn or hair.srgb is None or hair.hair_class is None:
            return None
        values = (hair.hairline_iod, hair.top_iod, hair.side_iod, hair.bottom_iod)
        if any(v is None for v in values):
            return None
        return cls(hair.hair_class, hair.srgb, *(float(v) for v in values if v is not None))

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["srgb"] = list(self.srgb)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> HairStyle:
        """A style stored by :meth:`to_json`; ValueError names a missing or malformed field."""
        try:
            srgb = tuple(int(c) for c in doc["srgb"])
            values = {k: float(doc[k]) for k in ("hairline_iod", "top_iod", "side_iod", "bottom_iod")}
            hair_class = str(doc["hair_class"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"hair: stored style is malformed ({exc!r})") from exc
        if len(srgb) != 3 or hair_class not in ("short", "medium", "long", "tied_back"):
            raise ValueError(f"hair: stored style has srgb {srgb} / class {hair_class!r}")
        return cls(hair_class, srgb, **values)


@dataclass(frozen=True)
class HairMesh:
    """The hair: (N, 3) vertices in the body's frame, (F, 3) triangles, (N, 2) UVs (u round the
    head, v down the strands), and its sRGB colour."""

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    srgb: tuple[int, int, int]


@dataclass(frozen=True)
class _HeadFrame:
    origin: np.ndarray  # eye midpoint
    axes: np.ndarray  # rows: left (+x), up (+y), forward (+z)
    metres_per_iod: float

    def to_local(self, points: np.ndarray) -> np.ndarray:
        return np.asarray((points - self.origin) @ self.axes.T)

    def to_world(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points @ self.axes + self.origin)


def _head_frame(joints: np.ndarray) -> _HeadFrame:
    left_eye, right_eye = joints[L_EYE], joints[R_EYE]
    left = left_eye - right_eye
    iod = float(np.linalg.norm(left))
    left /= iod
    up = joints[HEAD] - joints[NECK]
    up = up - (up @ left) * left
    up /= np.linalg.norm(up)
    forward = np.cross(left, up)
    return _HeadFrame((left_eye + right_eye) / 2, np.stack([left, up, forward]), iod)


def _direction(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Unit vectors at polar angle ``theta`` from up and azimuth ``phi`` from forward towards left."""
    theta, phi = np.broadcast_arrays(theta, phi)
    s = np.sin(theta)
    return np.stack([s * np.sin(phi), np.cos(theta), s * np.cos(phi)], -1)


def _scalp_radius(points: np.ndarray, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """(len(theta), len(phi)) distance from the centre to the farthest head vertex within
    :data:`CONE_DEG` of each direction (points are relative to the centre)."""
    dirs = _direction(theta[:, None], phi[None, :]).reshape(-1, 3)
    length = np.linalg.norm(points, axis=1)
    unit = points / np.maximum(length, 1e-9)[:, None]
    cos = dirs @ unit.T
    near = cos > np.cos(np.radians(CONE_DEG))
    radius = np.where(near, cos * length[None, :], 0.0).max(axis=1)
    return np.asarray(radius.reshape(len(theta), len(phi)))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.asarray(x * x * (3 - 2 * x))


def _grid_faces(rows: int, cols: int, start: int = 0, wrap: bool = True) -> np.ndarray:
    """Two triangles per cell of a (rows, cols) vertex grid, columns wrapping round if ``wrap``;
    counter-clockwise seen from outside when rows run downwards and columns towards the left."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols if wrap else cols - 1), indexing="ij")
    a = start + r * cols + c
    b = start + r * cols + (c + 1) % cols
    d = a + cols
    e = b + cols
    quads = np.stack([a, b, e, d], -1).reshape(-1, 4)
    return np.concatenate([quads[:, [0, 2, 1]], quads[:, [0, 3, 2]]])


def _uv_grid(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(len(v) * len(u), 2) UVs of a vertex grid laid out row (v) by row."""
    return np.stack(np.broadcast_arrays(u[None, :], v[:, None]), -1).reshape(-1, 2)


def _clearance(local: np.ndarray, centre: np.ndarray, phi: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """(len(heights), len(phi)) horizontal reach of the body (head, neck, shoulders) round the head's
    vertical axis at each azimuth and height, within 0.25 m of the axis (so arms do not count)."""
    rel = local - centre
    horizontal = np.hypot(rel[:, 0], rel[:, 2])
    near_axis = horizontal < 0.25
    rel, horizontal = rel[near_axis], horizontal[near_axis]
    azimuth = np.arctan2(rel[:, 0], rel[:, 2])
    out = np.zeros((len(heights), len(phi)))
    for i, y in enumerate(heights):
        band = np.abs(rel[:, 1] - y) < 0.012
        if not band.any():
            continue
        diff = np.abs((azimuth[band][None, :] - phi[:, None] + np.pi) % (2 * np.pi) - np.pi)
        out[i] = np.where(diff < np.radians(8), horizontal[band][None, :], 0.0).max(axis=1)
    return out


def build_hair_mesh(vertices: np.ndarray, part_labels: np.ndarray, joints: np.ndarray,
                    style: HairStyle) -> HairMesh:
    """The hair of ``style`` on a posed body: ``vertices`` (V, 3) metres, ``part_labels`` (V,)
    SMPL-X joint per vertex, ``joints`` (55, 3)."""
    frame = _head_frame(np.asarray(joints, np.float64))
    m = frame.metres_per_iod
    local = frame.to_local(np.asarray(vertices, np.float64))
    head = local[np.isin(part_labels, HEAD_LABELS)]
    upper = head[head[:, 1] > 0]
    if len(upper) == 0:
        raise ValueError("hair: the body has no head vertex above the eyes to grow hair on")
    centre = np.array([0.0, 0.0, 0.5 * (upper[:, 2].min() + upper[:, 2].max())])
    phi = np.linspace(0, 2 * np.pi, N_AZIMUTH, endpoint=False)
    phi_signed = (phi + np.pi) % (2 * np.pi) - np.pi
    fine_theta = np.radians(np.arange(0.0, 150.0, 2.5))
    radius = _scalp_radius(head - centre, fine_theta, phi)
    height = radius * np.cos(fine_theta)[:, None]

    # The boundary's height at each azimuth: the hairline at the front, the sideburns at the sides,
    # the nape at the back.
    side_low = -min(style.bottom_iod, 0.6) * m
    front = (style.hairline_iod + HAIRLINE_MARGIN_IOD) * m
    back = -0.8 * m
    turn = np.abs(phi_signed)
    # The hairline runs level across the forehead to the temples, then drops to the sideburns.
    to_side = _smoothstep((turn - np.radians(TEMPLE_DEG)) / np.radians(35))
    to_back = _smoothstep((turn - np.radians(100)) / np.radians(60))
    boundary = front + (side_low - front) * to_side + (back - side_low) * to_back
    theta_b = np.empty(N_AZIMUTH)
    for j in range(N_AZIMUTH):
        below = np.flatnonzero(height[:, j] < boundary[j])
        k = int(below[0]) if len(below) else len(fine_theta) - 1
        if k == 0:
            theta_b[j] = fine_theta[1]
            continue
        h0, h1 = height[k - 1, j], height[k, j]
        w = 0.0 if h0 == h1 else float(np.clip((h0 - boundary[j]) / (h0 - h1), 0, 1))
        theta_b[j] = fine_theta[k - 1] + w * (fine_theta[k] - fine_theta[k - 1])

    # Thickness: from the frontal silhouette at the top and at the temples, thinning to the edge.
    top_scalp = float(head[:, 1].max())
    temple_band = head[(head[:, 1] > 0.3 * m) & (head[:, 1] < style.hairline_iod * m + 0.3 * m)]
    scalp_half = float(np.abs((temple_band if len(temple_band) else head)[:, 0]).max())
    t_top = max(style.top_iod * m - top_scalp, MIN_THICKNESS_M)
    t_side = max(style.side_iod * m - scalp_half, MIN_THICKNESS_M)
    if style.hair_class == "tied_back":
        t_top, t_side = min(t_top, 0.015), MIN_THICKNESS_M

    s = np.linspace(0.0, 1.0, N_POLAR + 1)[1:]
    # Locks: the edge reaches a little further at some azimuths than at others, so it does not end
    # in one smooth rim (a fixed pattern, not noise: the same style always gives the same mesh).
    locks = 0.5 + 0.5 * np.sin(phi * 23.0) * np.sin(phi * 7.0 + 1.0)
    theta_b = theta_b * (1.0 + LOCK_REACH * locks)
    theta = s[:, None] * theta_b[None, :]
    r_scalp = np.stack([np.interp(theta[:, j], fine_theta, radius[:, j]) for j in range(N_AZIMUTH)], 1)
    across = np.clip(np.sin(theta) ** 2, 0, 1)
    edge = _smoothstep((1.0 - s[:, None]) / 0.25)
    # The edge thins fully over the forehead; at the sides and back short hair thins to the nape and
    # sideburns too, while longer hair stays full where its curtain continues.
    floor = (0.5 if style.hair_class in ("medium", "long") else 0.15) * to_side[None, :]
    taper = floor + (1.0 - floor) * edge
    thickness = MIN_THICKNESS_M + (t_top * (1 - across) + t_side * across - MIN_THICKNESS_M) * taper
    outer = centre + (r_scalp + thickness)[..., None] * _direction(theta, phi[None, :])
    inner = centre + (r_scalp + 0.5 * MIN_THICKNESS_M)[..., None] * _direction(theta, phi[None, :])
    pole_r = float(np.interp(0.0, fine_theta, radius.mean(axis=1)))
    pole_out = centre + np.array([0.0, pole_r + t_top, 0.0])
    pole_in = centre + np.array([0.0, pole_r + 0.5 * MIN_THICKNESS_M, 0.0])

    # Vertex layout: outer pole, outer rows, inner pole, inner rows, then curtains.
    n = N_AZIMUTH
    parts = [pole_out[None], outer.reshape(-1, 3), pole_in[None], inner.reshape(-1, 3)]
    fan = np.stack([np.zeros(n, int), 1 + np.arange(n), 1 + (np.arange(n) + 1) % n], 1)
    outer_faces = np.concatenate([fan, _grid_faces(N_POLAR, n, start=1)])
    inner_start = 1 + N_POLAR * n
    inner_faces = (outer_faces + inner_start)[:, ::-1]
    last_out = 1 + (N_POLAR - 1) * n + np.arange(n)
    last_in = inner_start + 1 + (N_POLAR - 1) * n + np.arange(n)
    rim = np.concatenate([
        np.stack([last_out, last_in, np.roll(last_out, -1)], 1),
        np.stack([np.roll(last_out, -1), last_in, np.roll(last_in, -1)], 1),
    ])
    faces = [outer_faces, inner_faces, rim]
    uv = [np.array([[0.5, 0.0]]), _uv_grid(phi / (2 * np.pi), s * 0.5)]
    uv += [uv[0], uv[1]]
    count = 2 * (1 + N_POLAR * n)

    if style.hair_class in ("medium", "long"):
        cols = np.flatnonzero(turn >= np.radians(CURTAIN_FROM_DEG))
        cols = np.roll(cols, -int(np.argmax(np.diff(cols) > 1)) - 1) if np.any(np.diff(cols) > 1) else cols
        start_pts = outer[-1, cols]
        bottom = -style.bottom_iod * m
        t = np.linspace(0.0, 1.0, N_CURTAIN + 1)[1:]
        heights = start_pts[None, :, 1] + (bottom - start_pts[None, :, 1]) * t[:, None]
        clear = np.stack([_clearance(local, centre, phi[cols[k:k + 1]], heights[:, k])[:, 0]
                          for k in range(len(cols))], 1)
        reach = np.hypot(start_pts[:, 0] - centre[0], start_pts[:, 2] - centre[2])
        # Clear of the neck, but not flaring over the shoulders: there it rests behind them.
        clear = np.minimum(clear + t_side, reach[None, :] + MAX_FLARE_M)
        r = np.maximum.accumulate(np.maximum(reach[None, :], clear), axis=0)
        curtain = np.stack([centre[0] + r * np.sin(phi[cols])[None, :], heights,
                            centre[2] + r * np.cos(phi[cols])[None, :]], -1)
        grid = np.concatenate([start_pts[None], curtain]).reshape(-1, 3)
        sheet = _grid_faces(N_CURTAIN + 1, len(cols), start=count, wrap=False)
        # Two sides with their own vertices, so each side keeps its own normals.
        parts += [grid, grid]
        faces += [sheet, (sheet + len(grid))[:, ::-1]]
        v_curtain = 0.5 + 0.5 * np.concatenate([[0.0], t])
        uv += [_uv_grid(phi[cols] / (2 * np.pi), v_curtain)] * 2
        count += 2 * len(grid)
    if style.hair_class == "tied_back":
        bun_r = 0.6 * m
        back_r = float(np.interp(np.radians(100), fine_theta, radius[:, N_AZIMUTH // 2]))
        bun_c = centre + (back_r + 0.5 * bun_r) * _direction(np.radians(100.0), np.array(np.pi))
        ring, rows = 16, 9
        bt = np.linspace(0, np.pi, rows)
        bp = np.linspace(0, 2 * np.pi, ring, endpoint=False)
        bun = bun_c + bun_r * _direction(bt[:, None], bp[None, :]).reshape(-1, 3)
        parts.append(bun)
        faces.append(_grid_faces(rows, ring, start=count))
        uv.append(_uv_grid(bp / (2 * np.pi), bt / np.pi))
    points = np.concatenate(parts)
    return HairMesh(vertices=frame.to_world(points), faces=np.concatenate(faces).astype(np.int64),
                    uv=np.concatenate(uv).astype(np.float32), srgb=style.srgb)


def strand_texture(srgb: tuple[int, int, int], width: int = 256, height: int = 64) -> np.ndarray:
    """(height, width, 3) uint8: the hair colour with light strands along v and a darker lower cap
    edge (what the renderer draws), for the GLB's hair material."""
    x = np.linspace(0, 2 * np.pi, width, endpoint=False)[None, :]
    v = np.linspace(0, 1, height)[:, None]
    strand = np.sin(x * 97 + 5 * np.sin(v * 7 + x * 3)) * np.sin(x * 41 + 2 * v)
    fine = np.sin(x * 263 + 3 * np.sin(x * 11))
    under = _smoothstep((v - 0.36) / 0.14) * (v < 0.5)  # the cap's lower edge, darker
    shade = 0.97 + 0.03 * strand + 0.02 * fine - 0.12 * under
    return np.clip(np.round(shade[..., None] * np.asarray(srgb, np.float64)), 0, 255).astype(np.uint8)


def hair_material(srgb: tuple[int, int, int]) -> Any:
    """The GLB material of the hair: rough, not metallic, with :func:`strand_texture`."""
    import trimesh
    from PIL import Image

    return trimesh.visual.material.PBRMaterial(
        name="hair", baseColorTexture=Image.fromarray(strand_texture(srgb)), metallicFactor=0.0,
        roughnessFactor=0.9, doubleSided=True)
