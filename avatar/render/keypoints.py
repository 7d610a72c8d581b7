"""OpenPose keypoints straight from the 3D body: COCO-18 (OOTDiffusion's format) and BODY_25.

Body keypoints are SMPL-X joints; the nose, eyes, ears, toes and heels are surface points picked on
the posed mesh by its part labels (the nose is the head's most forward vertex, an eye the most
forward vertex of its eyeball, an ear the head's outermost vertex at eye height, a big toe the most
forward toe vertex, a small toe the outermost one, a heel the ankle part's rearmost low vertex).

A point is *visible* when it projects inside the image and passes a depth test against the rendered
depth: a surface point must lie on the visible surface (within 3 cm, in its 3x3 pixel neighbourhood),
a joint (inside the body) must lie at most 25 cm behind a visible surface that belongs to one of the
segments around it, so an elbow hidden behind the torso is reported as invisible. Invisible points
are ``[0, 0]`` (and confidence 0 in BODY_25), as OpenPose writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.render import parts as P
from avatar.render.camera import Camera
from avatar.render.mesh import PosedBody
from avatar.render.renderer import RenderBuffers

COCO18_NAMES: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)  # fmt: skip
BODY25_NAMES: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
    "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe",
    "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)  # fmt: skip

SURFACE_TOLERANCE_M = 0.03
JOINT_DEPTH_M = 0.25

# DensePose parts of each segment, to check that the surface in front of a joint is its own.
_TORSO, _HEAD = (1, 2), (23, 24)
_ARM_U_L, _ARM_U_R, _ARM_L_L, _ARM_L_R = (15, 17), (16, 18), (19, 21), (20, 22)
_LEG_U_R, _LEG_U_L, _LEG_L_R, _LEG_L_L = (7, 9), (8, 10), (11, 13), (12, 14)

# Joint keypoints: the SMPL-X joint(s) averaged, and the DensePose parts allowed in front of it.
_JOINT_POINTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "neck": ((P.L_SHOULDER, P.R_SHOULDER), _TORSO + _HEAD),
    "right_shoulder": ((P.R_SHOULDER,), _TORSO + _ARM_U_R),
    "right_elbow": ((P.R_ELBOW,), _ARM_U_R + _ARM_L_R),
    "right_wrist": ((P.R_WRIST,), _ARM_L_R + (3,)),
    "left_shoulder": ((P.L_SHOULDER,), _TORSO + _ARM_U_L),
    "left_elbow": ((P.L_ELBOW,), _ARM_U_L + _ARM_L_L),
    "left_wrist": ((P.L_WRIST,), _ARM_L_L + (4,)),
    "mid_hip": ((P.L_HIP, P.R_HIP), _TORSO + _LEG_U_L + _LEG_U_R),
    "right_hip": ((P.R_HIP,), _TORSO + _LEG_U_R),
    "right_knee": ((P.R_KNEE,), _LEG_U_R + _LEG_L_R),
    "right_ankle": ((P.R_ANKLE,), _LEG_L_R + (6,)),
    "left_hip": ((P.L_HIP,), _TORSO + _LEG_U_L),
    "left_knee": ((P.L_KNEE,), _LEG_U_L + _LEG_L_L),
    "left_ankle": ((P.L_ANKLE,), _LEG_L_L + (5,)),
}


@dataclass(frozen=True)
class Keypoints:
    """Named 2D keypoints of one render.

    Attributes:
        names: keypoint names, the union of COCO-18 and BODY_25.
        pixels: (N, 2) image coordinates (x right, y down; pixel (i, j) spans [i, i+1) x [j, j+1)).
        visible: (N,) whether each point passed the visibility test.
    """

    names: tuple[str, ...]
    pixels: NDArray[np.float64]
    visible: NDArray[np.bool_]

    def get(self, name: str) -> tuple[float, float] | None:
        """The pixel of ``name``, or None when it is not visible."""
        i = self.names.index(name)
        return (float(self.pixels[i, 0]), float(self.pixels[i, 1])) if self.visible[i] else None

    def coco18(self) -> list[list[float]]:
        """OOTDiffusion's ``pose_keypoints_2d``: 18 ``[x, y]``, ``[0, 0]`` when not visible."""
        return [list(self.get(n) or (0.0, 0.0)) for n in COCO18_NAMES]

    def body25(self) -> list[float]:
        """OpenPose BODY_25 flat ``[x, y, c, ...]`` (75 numbers), ``0, 0, 0`` when not visible."""
        flat: list[float] = []
        for n in BODY25_NAMES:
            p = self.get(n)
            flat.extend([p[0], p[1], 1.0] if p else [0.0, 0.0, 0.0])
        return flat

    def to_json(self) -> dict[str, Any]:
        return {
            "pose_keypoints_2d": [[round(x, 2), round(y, 2)] for x, y in self.coco18()],
            "body_25": [round(v, 2) for v in self.body25()],
            "coco18_names": list(COCO18_NAMES),
            "body_25_names": list(BODY25_NAMES),
            "format": "COCO-18 / OpenPose-18 order in image pixels (x right, y down); [0, 0] = not visible. "
            "body_25: OpenPose BODY_25 flat [x, y, confidence], confidence 1 visible, 0 not.",
        }


def surface_points(body: PosedBody) -> dict[str, NDArray[np.float64]]:
    """3D nose, eyes, ears, big/small toes and heels picked on the posed mesh (metres)."""
    v, lab = body.vertices, body.part_labels
    head = v[np.isin(lab, (P.HEAD, P.JAW))]
    if len(head) == 0:
        raise ValueError("part_labels: no vertex belongs to the head, cannot place the face keypoints")
    out = {"nose": head[np.argmax(head[:, 2])]}
    for side, eye_joint in (("left", P.L_EYE), ("right", P.R_EYE)):
        eye = v[lab == eye_joint]
        out[f"{side}_eye"] = eye[np.argmax(eye[:, 2])] if len(eye) else body.joints[eye_joint]
    eye_y = 0.5 * (out["left_eye"][1] + out["right_eye"][1])
    band = head[(head[:, 1] > eye_y - 0.06) & (head[:, 1] < eye_y + 0.01)]
    band = band if len(band) else head
    out["left_ear"] = band[np.argmax(band[:, 0])]
    out["right_ear"] = band[np.argmin(band[:, 0])]
    for side, foot_joint, ankle_joint, outward in (
        ("left", P.L_FOOT, P.L_ANKLE, 1.0), ("right", P.R_FOOT, P.R_ANKLE, -1.0)
    ):
        toes = v[lab == foot_joint]
        foot = v[lab == ankle_joint]
        if len(toes) == 0 or len(foot) == 0:
            raise ValueError(f"part_labels: no vertex on the {side} foot, cannot place the toe keypoints")
        out[f"{side}_big_toe"] = toes[np.argmax(toes[:, 2])]
        out[f"{side}_small_toe"] = toes[np.argmax(outward * toes[:, 0])]
        low = foot[foot[:, 1] < foot[:, 1].min() + 0.04]
        out[f"{side}_heel"] = low[np.argmin(low[:, 2])]
    return out


def detect(body: PosedBody, camera: Camera, buffers: RenderBuffers) -> Keypoints:
    """Project every keypoint and test its visibility against the rendered depth and parts."""
    surface = surface_points(body)
    names = tuple(dict.fromkeys(COCO18_NAMES + BODY25_NAMES))
    points = np.array([
        surface[n] if n in surface else body.joints[list(_JOINT_POINTS[n][0])].mean(axis=0) for n in names
    ])
    uv, z = camera.project(points)
    h, w = buffers.depth.shape
    visible = np.zeros(len(names), dtype=bool)
    for i, name in enumerate(names):
        col, row = int(np.floor(uv[i, 0])), int(np.floor(uv[i, 1]))
        if not (0 <= col < w and 0 <= row < h) or z[i] <= 0:
            continue
        if name in surface:
            # A point on the outline (an ear) may fall a pixel outside the rasterised surface.
            patch = buffers.depth[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2]
            visible[i] = bool(((patch > 0) & (np.abs(patch - z[i]) <= SURFACE_TOLERANCE_M)).any())
            continue
        depth = float(buffers.depth[row, col])
        if depth <= 0.0:
            continue
        allowed = _JOINT_POINTS[name][1]
        visible[i] = int(buffers.part[row, col]) in allowed and 0.0 <= z[i] - depth <= JOINT_DEPTH_M
    return Keypoints(names, uv, visible)
