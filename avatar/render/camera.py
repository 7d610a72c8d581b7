"""A pinhole camera that frames a whole body the way a phone photo would.

The camera looks horizontally along -Z (at the body's front, which faces +Z), with the principal point
at the image centre. Its distance is the smallest that keeps every vertex inside the frame with the
requested margins, and its height and sideways position centre the body, so the feet land near the
bottom edge and the head near the top whatever the body's proportions.

Conventions (recorded in ``camera.json``): world is metres, Y up, +Z forward (the body faces the
camera). Extrinsics map world to the OpenCV camera frame (x right, y down, z away from the camera);
``K`` maps that frame to pixels, with pixel centres at integer + 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Image sizes (width, height) the bundle supports; 3:4 like VITON-HD / IDM-VTON.
SIZES: tuple[tuple[int, int], ...] = ((384, 512), (768, 1024), (1152, 1536))
DEFAULT_SIZE = (768, 1024)
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)  # 35 mm film: what "equivalent focal length" refers to
PHONE_FOCAL_MM = 26.0  # the main camera of most phones, 35 mm equivalent
MARGIN = 0.03  # share of the image height kept free above the head and below the feet

# World (Y up, +Z towards the camera) to OpenCV camera axes (x right, y down, z into the scene).
_WORLD_TO_CV = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class Camera:
    """Intrinsics and extrinsics of one render.

    Attributes:
        width, height: image size in pixels.
        fx, fy, cx, cy: pinhole intrinsics in pixels.
        rotation: (3, 3) world-to-camera rotation (OpenCV camera axes).
        translation: (3,) world-to-camera translation in metres: ``x_cam = R @ x_world + t``.
        znear, zfar: clipping depths in metres.
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    rotation: NDArray[np.float64]
    translation: NDArray[np.float64]
    znear: float = 0.05
    zfar: float = 20.0

    @property
    def K(self) -> NDArray[np.float64]:  # noqa: N802 - the standard name of the intrinsic matrix
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def to_camera(self, points: NDArray[np.floating]) -> NDArray[np.float64]:
        """(N, 3) world points (m) to OpenCV camera coordinates (m)."""
        return np.asarray(points, dtype=np.float64) @ self.rotation.T + self.translation

    def project(self, points: NDArray[np.floating]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(N, 3) world points to (N, 2) pixel coordinates and (N,) camera depth z in metres."""
        cam = self.to_camera(points)
        z = cam[:, 2]
        uv = np.stack([self.fx * cam[:, 0] / z + self.cx, self.fy * cam[:, 1] / z + self.cy], axis=1)
        return uv, z

    def opengl_projection(self) -> NDArray[np.float32]:
        """4x4 matrix from OpenCV camera coordinates to clip space, with image row 0 at NDC y = -1, so
        that reading the framebuffer back row by row gives the image top row first."""
        w, h, n, f = self.width, self.height, self.znear, self.zfar
        return np.array(
            [
                [2 * self.fx / w, 0.0, 2 * self.cx / w - 1.0, 0.0],
                [0.0, 2 * self.fy / h, 2 * self.cy / h - 1.0, 0.0],
                [0.0, 0.0, (f + n) / (f - n), -2 * f * n / (f - n)],
                [0.0, 0.0, 1.0, 0.0],
            ],
            dtype=np.float32,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``camera.json`` record: intrinsics, extrinsics, image size and the axis conventions."""
        world_to_cam = np.eye(4)
        world_to_cam[:3, :3] = self.rotation
        world_to_cam[:3, 3] = self.translation
        return {
            "image_size": {"width": self.width, "height": self.height},
            "intrinsics": {
                "fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy, "K": self.K.tolist(),
                "focal_length_35mm_equiv_mm": round(self.focal_35mm_equiv(), 2),
            },
            "extrinsics": {
                "world_to_camera": world_to_cam.tolist(),
                "camera_position_m": (-self.rotation.T @ self.translation).tolist(),
            },
            "clip": {"znear_m": self.znear, "zfar_m": self.zfar},
            "conventions": {
                "world": "metres, Y up, +Z forward (the body faces the camera), X towards the body's left",
                "camera": "OpenCV: x right, y down, z forward; pixel (u, v) = K @ x_cam / z",
                "depth_png": "uint16 millimetres along the optical axis (camera z), 0 = background",
                "normal_png": "camera-space unit normal in OpenGL axes (x right, y up, z towards the "
                "camera) encoded as (n + 1) / 2 * 255, background 0",
            },
        }

    def focal_35mm_equiv(self) -> float:
        return self.fx * FULL_FRAME_DIAGONAL_MM / math.hypot(self.width, self.height)


def parse_size(text: str) -> tuple[int, int]:
    """``"768x1024"`` to (768, 1024); only the supported sizes are accepted."""
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size must look like WIDTHxHEIGHT, got {text!r}") from None
    if (w, h) not in SIZES:
        allowed = ", ".join(f"{a}x{b}" for a, b in SIZES)
        raise ValueError(f"size must be one of {allowed}, got {text!r}")
    return w, h


def frame_full_body(
    vertices: NDArray[np.floating],
    size: tuple[int, int] = DEFAULT_SIZE,
    focal_35mm_mm: float = PHONE_FOCAL_MM,
    margin: float = MARGIN,
) -> Camera:
    """The closest centred horizontal camera that shows every vertex with ``margin`` of the height free.

    Args:
        vertices: (V, 3) body in metres, Y up, facing +Z.
        size: (width, height) in pixels.
        focal_35mm_mm: focal length as its 35 mm equivalent (26 mm: a phone's main camera).
        margin: share of the height left above the head and below the feet (0 to 0.2).
    """
    width, height = size
    if not 0.0 <= margin <= 0.2:
        raise ValueError(f"margin must be within [0, 0.2], got {margin}")
    pts = np.asarray(vertices, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) < 4 or not np.isfinite(pts).all():
        raise ValueError(f"vertices must be a finite (V>=4, 3) array, got shape {pts.shape}")
    f = focal_35mm_mm / FULL_FRAME_DIAGONAL_MM * math.hypot(width, height)
    half_h = height / 2 - margin * height
    half_w = width / 2 - margin * height
    x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
    cam_z = max(_closest_distance(y, z, f / half_h), _closest_distance(x, z, f / half_w))
    cam_y = _centre(y, cam_z - z)
    cam_x = _centre(x, cam_z - z)
    rotation = _WORLD_TO_CV.copy()
    translation = -rotation @ np.array([cam_x, cam_y, cam_z])
    return Camera(width, height, f, f, width / 2, height / 2, rotation, translation)


def _closest_distance(a: NDArray[np.float64], z: NDArray[np.float64], k: float) -> float:
    """The smallest camera Z for which some camera position c keeps k * |a - c| <= Zc - z for every point.

    Feasible exactly when max(a - (Zc - z) / k) <= min(a + (Zc - z) / k); that gap shrinks as Zc
    grows, so bisection finds the boundary (to 0.01 mm).
    """
    lo, hi = float(z.max()), float(z.max() + k * np.ptp(a) + 1.0)
    while hi - lo > 1e-5:
        mid = 0.5 * (lo + hi)
        reach = (mid - z) / k
        if np.max(a - reach) <= np.min(a + reach):
            hi = mid
        else:
            lo = mid
    return hi


def _centre(x: NDArray[np.float64], depth: NDArray[np.float64]) -> float:
    """The camera coordinate that puts the extreme projected points equally far from the centre
    (found by bisection: the imbalance is monotone in the coordinate)."""
    lo, hi = float(x.min()), float(x.max())
    for _ in range(32):
        mid = 0.5 * (lo + hi)
        if np.max((x - mid) / depth) > np.max((mid - x) / depth):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
