"""Close-up renders of an avatar's head, as a portrait photo would frame it.

Used twice: to build the dense landmark correspondence (``python -m bench.likeness_map`` renders the
neutral head from a few yaw angles and runs MediaPipe on it) and by the identity measure
(:mod:`avatar.face.identity` renders the fitted head at yaw 0° and ±20°). Rendering is the project's
own GL renderer (:mod:`avatar.render.renderer`), so the head is shaded exactly as in the try-on bundle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from avatar.render.camera import Camera
from avatar.render.mesh import Appearance, PosedBody, build_render_mesh
from avatar.render.renderer import RenderBuffers, render

HEAD_DEPTH_M = 0.27  # the head: vertices within this distance of its top
PORTRAIT_PX = 512
FOCAL_35MM = 85.0  # a portrait lens: little perspective distortion, like a photo taken at arm's length
FILL = 0.62  # share of the image height the head's height takes
GAP_M = 0.01  # a landmark this far behind the surface around it fell through a gap (see unproject)


@dataclass(frozen=True)
class HeadView:
    """One render of the head: the buffers, the camera, and the yaw it was taken at (degrees; > 0 turns
    the face towards the image's right, as :class:`avatar.face.analysis.HeadPose` reports it)."""

    buffers: RenderBuffers
    camera: Camera
    yaw_deg: float

    def unproject(self, pixels: NDArray[np.float64], window: int = 0,
                  ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """(N, 2) pixel positions → (N, 3) world points on the rendered surface and (N,) whether a
        surface was hit there. Where the depth lies more than ``GAP_M`` behind the front-most surface
        within ``window`` pixels, the point fell through a thin gap (between closed lips) and takes
        that front-most depth: it lands on the lips, not inside the mouth."""
        cam = self.camera
        h, w = self.buffers.depth.shape
        depth = np.where(self.buffers.depth > 0, self.buffers.depth, np.inf).astype(np.float64)
        front = cv2.erode(depth, np.ones((2 * window + 1,) * 2, np.uint8))  # erosion = local minimum
        col = np.clip(np.floor(pixels[:, 0]).astype(int), 0, w - 1)
        row = np.clip(np.floor(pixels[:, 1]).astype(int), 0, h - 1)
        z = depth[row, col]
        z = np.where(z - front[row, col] > GAP_M, front[row, col], z)
        z = np.where(np.isfinite(z), z, 0.0)
        x_cam = np.stack([(pixels[:, 0] - cam.cx) / cam.fx * z, (pixels[:, 1] - cam.cy) / cam.fy * z, z], 1)
        world = (x_cam - cam.translation) @ cam.rotation
        return world, z > 0

    def facing(self, pixels: NDArray[np.float64]) -> NDArray[np.float64]:
        """(N,) cosine between the surface normal at each pixel and the direction to the camera."""
        h, w = self.buffers.depth.shape
        col = np.clip(np.floor(pixels[:, 0]).astype(int), 0, w - 1)
        row = np.clip(np.floor(pixels[:, 1]).astype(int), 0, h - 1)
        n = self.buffers.normal[row, col].astype(np.float64) / 127.5 - 1.0  # OpenGL axes: z to the camera
        return np.asarray(n[:, 2])


def head_camera(vertices: NDArray[np.floating], yaw_deg: float = 0.0, size: int = PORTRAIT_PX) -> Camera:
    """A square portrait camera on the head of ``vertices`` (V, 3, metres, Y up, facing +Z), orbiting it
    by ``yaw_deg`` about the vertical axis so that the face appears turned by that much."""
    pts = np.asarray(vertices, dtype=np.float64)
    head = pts[pts[:, 1] > pts[:, 1].max() - HEAD_DEPTH_M]
    centre = np.array([np.median(head[:, 0]), head[:, 1].max() - 0.12, np.median(head[:, 2])])
    f = FOCAL_35MM / math.hypot(36.0, 24.0) * math.hypot(size, size)
    distance = f * HEAD_DEPTH_M / (FILL * size)
    # The face turns towards the image's right when the camera moves to the subject's right (-X).
    yaw = math.radians(yaw_deg)
    position = centre + distance * np.array([-math.sin(yaw), 0.0, math.cos(yaw)])
    forward = (centre - position) / np.linalg.norm(centre - position)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])
    return Camera(size, size, f, f, size / 2, size / 2, rotation, -rotation @ position, znear=0.05, zfar=5.0)


def render_head(body: PosedBody, appearance: Appearance, yaw_deg: float = 0.0,
                size: int = PORTRAIT_PX) -> HeadView:
    """Render the head of ``body`` at ``yaw_deg`` (the whole body is drawn; only the head is framed)."""
    camera = head_camera(body.vertices, yaw_deg, size)
    return HeadView(render(build_render_mesh(body, appearance), camera), camera, yaw_deg)
