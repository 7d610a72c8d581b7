"""Appearance: a body texture in the shopper's skin tone with their face photo projected onto the head.

Entry point: :func:`build_face_texture` (photo + face analysis + likeness + mesh in, an RGB texture
out). The GLB carries it through ``avatar.body.export``'s texture hook (``export.Texture`` with the UVs
from ``export.split_by_uv``).

Anny ships per-corner UVs (``texture_coordinates`` indexed by ``face_texture_coordinate_indices``,
origin bottom-left) on one body atlas. Every head triangle that faces the camera is mapped into the
photo through the likeness fit's similarity alignment; its texels sample the white-balanced photo and
are blended into the skin tone with a weight that fades out towards the face outline and where the
surface turns away from the camera, then blurred in texture space so no edge shows.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from avatar.face.analysis import FACE_OVAL, LEFT_IRIS, RIGHT_IRIS, FaceAnalysis
from avatar.face.likeness import LikenessResult, model_to_camera
from avatar.face.skintone import SkinTone

log = logging.getLogger(__name__)

TEXTURE_PX = 2048
HEAD_DEPTH_M = 0.30  # only triangles within this distance of the top of the head take the photo
FEATHER_IOD = 0.35  # the photo fades to skin over this fraction of the inter-ocular distance
FEATHER_TEXELS = 6.0  # Gaussian sigma, in texels, of the final blur of the blend weight


def project_to_photo(vertices: np.ndarray, face: FaceAnalysis, likeness: LikenessResult) -> np.ndarray:
    """(V, 2) photo pixel positions of Anny-frame vertices (V, 3 metres), through the likeness
    alignment (which maps the fitted head onto the photo's unit-IOD landmark frame)."""
    p = likeness.alignment.apply(model_to_camera(vertices))
    lm = face.landmarks_px
    centre = (lm[LEFT_IRIS, :2] + lm[RIGHT_IRIS, :2]) / 2
    iod = face.inter_ocular_px
    return np.stack([centre[0] + p[:, 0] * iod, centre[1] - p[:, 1] * iod], 1)


def _vertex_weights(vertices: np.ndarray, faces: np.ndarray, photo_px: np.ndarray,
                    face: FaceAnalysis, likeness: LikenessResult) -> np.ndarray:
    """(V,) how much of the photo each vertex takes: 1 well inside the face outline and facing the
    camera, falling to 0 at the outline, on surfaces seen edge-on, and off the head."""
    cam = likeness.alignment.apply(model_to_camera(vertices))
    tri = cam[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    vn = np.zeros_like(cam)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    vn /= np.linalg.norm(vn, axis=1, keepdims=True) + 1e-12
    facing = np.clip((vn[:, 2] - 0.25) / 0.5, 0, 1)
    model_cam = model_to_camera(vertices)
    on_head = model_cam[:, 1] > model_cam[:, 1].max() - HEAD_DEPTH_M
    front = model_cam[:, 2] > np.median(model_cam[on_head, 2])
    candidates = np.nonzero(on_head & front & (facing > 0))[0]
    outline = face.landmarks_px[FACE_OVAL, :2].astype(np.float32).reshape(-1, 1, 2)
    inside = np.zeros(len(vertices))
    inside[candidates] = [cv2.pointPolygonTest(outline, (float(x), float(y)), True)
                          for x, y in photo_px[candidates]]
    fade = np.clip(inside / (FEATHER_IOD * face.inter_ocular_px), 0, 1)
    return np.asarray(fade * facing)


def _rasterize(uv_px: np.ndarray, attrs: np.ndarray, size: int) -> np.ndarray:
    """Barycentric interpolation of per-corner ``attrs`` (F, 3, C) over UV triangles (F, 3, 2) in
    texel coordinates; texels no triangle covers stay NaN. OpenCV paints a triangle-id map, then the
    barycentric weights of every covered texel are computed at once."""
    ids = np.zeros((size, size), dtype=np.int32)
    for i, tri in enumerate(uv_px):
        cv2.fillConvexPoly(ids, np.round(tri * 16).astype(np.int32), (i + 1,), cv2.LINE_8, 4)
    ys, xs = np.nonzero(ids)
    tri_id = ids[ys, xs] - 1
    tri = uv_px[tri_id]
    p = np.stack([xs + 0.5, ys + 0.5], 1) - tri[:, 0]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    det = np.where(np.abs(det) < 1e-9, 1e-9, det)
    b1 = np.clip((p[:, 0] * e2[:, 1] - p[:, 1] * e2[:, 0]) / det, 0, 1)
    b2 = np.clip((e1[:, 0] * p[:, 1] - e1[:, 1] * p[:, 0]) / det, 0, 1)
    b2 = np.minimum(b2, 1 - b1)
    w = np.stack([1 - b1 - b2, b1, b2], 1)
    out = np.full((size, size, attrs.shape[2]), np.nan)
    out[ys, xs] = np.einsum("nk,nkc->nc", w, attrs[tri_id])
    return out


def build_face_texture(
    rgb: np.ndarray,
    face: FaceAnalysis,
    likeness: LikenessResult,
    skin: SkinTone,
    vertices: np.ndarray,
    faces: np.ndarray,
    uv: np.ndarray,
    face_uv: np.ndarray,
    size: int = TEXTURE_PX,
) -> np.ndarray:
    """(size, size, 3) uint8 body texture: skin tone everywhere, the face photo on the head.

    ``vertices`` (V, 3) are the fitted rest vertices (face changes included), ``faces`` (F, 3) their
    triangles, ``uv`` (T, 2) Anny's texture coordinates (origin bottom-left) and ``face_uv`` (F, 3)
    the per-corner indices into ``uv``.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3), got {rgb.shape}")
    photo_px = project_to_photo(vertices, face, likeness)
    weight = _vertex_weights(vertices, faces, photo_px, face, likeness)
    used = weight[faces].max(axis=1) > 0
    uv_px = np.stack([uv[:, 0] * size, (1 - uv[:, 1]) * size], 1)[face_uv[used]]
    attrs = np.concatenate([photo_px[faces[used]], weight[faces[used]][..., None]], axis=2)
    maps = _rasterize(uv_px, attrs, size)
    covered = ~np.isnan(maps[..., 2])
    balanced = np.clip(rgb.astype(np.float32) * np.asarray(skin.wb_gains, dtype=np.float32), 0, 255)
    sampled = cv2.remap(balanced, np.nan_to_num(maps[..., 0]).astype(np.float32),
                        np.nan_to_num(maps[..., 1]).astype(np.float32), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
    alpha = np.where(covered, maps[..., 2], 0.0).astype(np.float32)
    alpha = cv2.GaussianBlur(alpha, (0, 0), FEATHER_TEXELS) * covered
    tone = np.asarray(skin.srgb, dtype=np.float32)
    texture = alpha[..., None] * sampled + (1 - alpha[..., None]) * tone
    log.info("face texture: %d head triangles take the photo, %.1f%% of texels", int(used.sum()),
             100 * float((alpha > 0.01).mean()))
    return np.clip(np.round(texture), 0, 255).astype(np.uint8)
