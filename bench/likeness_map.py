"""Build and check the MediaPipe-landmark → Anny-vertex map (``avatar/face/data/landmark_map_anny_v1.json``).

The map is built once, not at run time: Anny's neutral head is rendered frontally (orthographic,
Lambert-shaded), MediaPipe face mesh runs on that render, and each chosen landmark takes the
front-facing head vertex nearest to it in the image (the most forward one when several are close).
``--check PNG`` draws the mapped vertices (green) next to MediaPipe's landmarks (red) on the render.

    python -m bench.likeness_map --out avatar/face/data/landmark_map_anny_v1.json \
        --check avatar/face/data/landmark_map_anny_v1_check.png
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import cv2
import numpy as np

from avatar.face.likeness import MAP_PATH, model_to_camera

log = logging.getLogger(__name__)

# The MediaPipe landmarks the likeness fit uses, by feature.
LANDMARK_SUBSET: dict[str, list[int]] = {
    "eye_corners": [33, 133, 362, 263],
    "brows": [70, 105, 107, 336, 334, 300],
    "nose": [1, 2, 168, 98, 327, 129, 358],
    "mouth": [61, 291, 0, 17],
    "chin": [152],
    "jaw": [234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454],
}
HEAD_DEPTH_M = 0.27  # how far below the top of the head the rendered head reaches
RENDER_PX = 512


def render_head(vertices: np.ndarray, faces: np.ndarray, size: int = RENDER_PX,
                colour: tuple[float, float, float] = (0.87, 0.70, 0.58)) -> tuple[np.ndarray, np.ndarray]:
    """Orthographic front render of the head of an Anny mesh (V, 3 metres, Z up, face to -Y).

    Returns the (size, size, 3) uint8 image and (V, 2) pixel positions of every vertex. Triangles are
    painted back to front with OpenCV, which is exact enough for a convex-ish head seen from the front.
    """
    cam = model_to_camera(vertices)
    top = cam[:, 1].max()
    centre = np.array([0.0, top - HEAD_DEPTH_M / 2 + 0.015])
    half = HEAD_DEPTH_M / 2
    pixels = np.stack([(cam[:, 0] - centre[0] + half) / (2 * half) * size,
                       (centre[1] + half - cam[:, 1]) / (2 * half) * size], axis=1)
    tri = cam[faces]
    keep = np.all(tri[:, :, 1] > top - HEAD_DEPTH_M, axis=1)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    keep &= normals[:, 2] > 0
    light = np.array([0.3, 0.4, 1.0]) / np.linalg.norm([0.3, 0.4, 1.0])
    shade = np.clip(normals @ light, 0, 1) * 0.75 + 0.2
    image = np.full((size, size, 3), 153, dtype=np.uint8)
    order = np.argsort(tri[:, :, 2].mean(axis=1))
    for i in order[keep[order]]:
        rgb = tuple(int(c * shade[i] * 255) for c in colour)
        cv2.fillConvexPoly(image, np.round(pixels[faces[i]] * 16).astype(np.int32), rgb, cv2.LINE_AA, 4)
    return image, pixels


def front_vertices(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Indices of head vertices on at least one triangle that faces the camera."""
    cam = model_to_camera(vertices)
    tri = cam[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    keep = (normals[:, 2] > 0) & np.all(tri[:, :, 1] > cam[:, 1].max() - HEAD_DEPTH_M, axis=1)
    return np.unique(faces[keep])


def build_map(vertices: np.ndarray, faces: np.ndarray) -> tuple[dict[int, int], np.ndarray, np.ndarray]:
    """(landmark → vertex map, the render, MediaPipe's landmarks on it in pixels)."""
    from avatar.face.analysis import detect_faces

    image, pixels = render_head(vertices, faces)
    found = detect_faces(image)
    if len(found) != 1:
        raise ValueError(f"MediaPipe found {len(found)} faces on the head render; expected exactly 1")
    landmarks = found[0]
    candidates = front_vertices(vertices, faces)
    depth = model_to_camera(vertices)[:, 2]
    mapping: dict[int, int] = {}
    for idx in sorted({i for group in LANDMARK_SUBSET.values() for i in group}):
        dist = np.linalg.norm(pixels[candidates] - landmarks[idx, :2], axis=1)
        near = candidates[dist <= dist.min() + 2.0]  # within 2 px of the nearest: take the front-most
        mapping[idx] = int(near[np.argmax(depth[near])])
    return mapping, image, landmarks


def draw_check(image: np.ndarray, pixels: np.ndarray, mapping: dict[int, int],
               landmarks: np.ndarray) -> np.ndarray:
    """The render with MediaPipe's landmarks (red) and the mapped vertices (green), joined by lines."""
    out = image.copy()
    for lm, vert in mapping.items():
        a = tuple(int(v) for v in np.round(landmarks[lm, :2]))
        b = tuple(int(v) for v in np.round(pixels[vert]))
        cv2.line(out, a, b, (255, 255, 0), 1, cv2.LINE_AA)
        cv2.circle(out, a, 3, (255, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(out, b, 2, (0, 200, 0), -1, cv2.LINE_AA)
    return out


def _main() -> None:
    import torch
    from PIL import Image

    from avatar.face.likeness import default_anny

    parser = argparse.ArgumentParser(prog="python -m bench.likeness_map", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=MAP_PATH)
    parser.add_argument("--check", type=Path, help="write a PNG of the map drawn on the render")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    model = default_anny()
    with torch.no_grad():
        vertices = model()["rest_vertices"][0].double().numpy()  # type: ignore[operator]
    faces = model.faces.numpy()  # type: ignore[attr-defined]
    mapping, image, landmarks = build_map(vertices, faces)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "version": 1,
        "model": "anny 0.6.2, Anny() default topology, neutral phenotype, rest pose",
        "n_vertices": int(len(vertices)),
        "method": "nearest front-facing vertex to MediaPipe face-mesh landmarks on an orthographic front "
                  "render (python -m bench.likeness_map)",
        "groups": LANDMARK_SUBSET,
        "landmarks": {str(k): v for k, v in sorted(mapping.items())},
    }, indent=1) + "\n")
    log.info("wrote %d landmark → vertex pairs to %s", len(mapping), args.out)
    if args.check:
        _, pixels = render_head(vertices, faces)
        args.check.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(draw_check(image, pixels, mapping, landmarks)).save(args.check)
        log.info("wrote the check render to %s", args.check)


if __name__ == "__main__":
    _main()
