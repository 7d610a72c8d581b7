"""Appearance: a body texture in the shopper's skin, with their face photo projected onto the head.

Entry points: :func:`build_appearance` (photo + face analysis + likeness + mesh in, a
:class:`FaceTexture` out: the texture, the body's skin colour and where the eyes came from),
:func:`build_face_texture` (the texture alone) and :func:`seam_step` (how visible the face's edge is).
The GLB carries the texture through ``avatar.body.export``'s texture hook (``export.Texture`` with the
UVs from ``export.split_by_uv``).

Anny ships per-corner UVs (``texture_coordinates`` indexed by ``face_texture_coordinate_indices``,
origin bottom-left) on one body atlas. Every head triangle that faces the camera is mapped into the
photo through the likeness fit's similarity alignment; its texels sample the white-balanced photo.
The photo's weight fades out towards the face outline, where the surface turns away from the camera
and where the photo shows hair (the hair is a mesh of its own). Then:

* **skin**: the rest of the body takes the colour the face texture itself shows (the median of its
  well-covered texels), so body and face agree by construction;
* **seam**: the photo is blended into that skin in the gradient domain (Poisson image editing,
  Pérez et al. 2003, OpenCV's ``seamlessClone``): inside, the photo's detail; on the edge, exactly
  the skin, so no colour or brightness step is left there (:func:`seam_step` measures it);
* **eyes**: the eyeballs take the photo's irises (mapped by the iris landmarks onto the eyeball's
  forward cap, so the gaze stays straight) and its sclera colour when both eyes are open and the
  irises are big enough to carry detail; otherwise iris, pupil and sclera are painted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from avatar.face.analysis import FACE_OVAL, LEFT_IRIS, RIGHT_IRIS, FaceAnalysis
from avatar.face.likeness import LikenessResult, model_to_camera
from avatar.face.skintone import SkinTone, lab_to_srgb, srgb_to_lab

log = logging.getLogger(__name__)

TEXTURE_PX = 2048
HEAD_DEPTH_M = 0.30  # only triangles within this distance of the top of the head take the photo
FEATHER_IOD = 0.35  # the photo fades to skin over this fraction of the inter-ocular distance
FEATHER_TEXELS = 6.0  # Gaussian sigma, in texels, of the final blur of the blend weight
SKIN_LIKE_DE = 15.0  # a face texel this close to the measured skin tone is skin
WINDOW_PAD = 16  # texels of skin kept round the face's triangles while blending
HAIR_MARGIN_PX = 0.08  # of the IOD: the photo's hair mask grows by this before the face avoids it
# Eyes from the photo only when they can carry detail (chosen from what they mean, not fitted).
MIN_IRIS_RADIUS_PX = 4.0  # an iris at least 8 px across
MIN_EYE_OPENNESS = 0.18  # lid gap / eye width
MIN_IRIS_VISIBLE = 0.5  # share of the iris disc inside the lids
IRIS_COS = 0.90  # the eyeball's iris and pupil caps (cosine of their angular radius), as painted
PUPIL_COS = 0.985
PAINTED = {"sclera": (230, 224, 217), "iris": (71, 46, 28), "pupil": (10, 10, 10)}
# Eye openings in MediaPipe's mesh (image-left eye = the subject's right), and the lid points.
EYE_RING = {RIGHT_IRIS: [33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7],
            LEFT_IRIS: [263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249]}
EYE_LIDS = {RIGHT_IRIS: (33, 133, 159, 145), LEFT_IRIS: (263, 362, 386, 374)}  # corners, upper, lower
L_EYE, R_EYE = 23, 24  # SMPL-X joints of the subject's left and right eyeball


@dataclass(frozen=True)
class FaceTexture:
    """The body texture (H, W, 3) uint8, the skin colour the rest of the body shows (sRGB), whether
    the eyes are the photo's or painted, and the colour step left at the face's edge
    (:func:`seam_step`, ΔE*ab)."""

    texture: np.ndarray
    skin_srgb: tuple[int, int, int]
    eyes: Literal["photo", "painted"]
    seam_delta_e: float


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


Window = tuple[int, int, int, int]


def _window(uv_px: np.ndarray, size: int, pad: int) -> Window:
    """(x0, y0, x1, y1): the texels round triangles (F, 3, 2), grown by ``pad``, within the texture."""
    lo = np.floor(uv_px.reshape(-1, 2).min(axis=0)).astype(int) - pad
    hi = np.ceil(uv_px.reshape(-1, 2).max(axis=0)).astype(int) + pad
    return max(0, int(lo[0])), max(0, int(lo[1])), min(size, int(hi[0])), min(size, int(hi[1]))


def _rasterize(uv_px: np.ndarray, attrs: np.ndarray, window: Window) -> np.ndarray:
    """Barycentric interpolation of per-corner ``attrs`` (F, 3, C) over UV triangles (F, 3, 2) in
    texel coordinates, over the texels of ``window`` only; texels no triangle covers stay NaN.
    OpenCV paints a triangle-id map, then the barycentric weights of every covered texel are
    computed at once."""
    x0, y0, x1, y1 = window
    uv_px = uv_px - (x0, y0)
    ids = np.zeros((y1 - y0, x1 - x0), dtype=np.int32)
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
    out = np.full((y1 - y0, x1 - x0, attrs.shape[2]), np.nan)
    out[ys, xs] = np.einsum("nk,nkc->nc", w, attrs[tri_id])
    return out


def eyes_from_photo(face: FaceAnalysis) -> bool:
    """True when both eyes are open and their irises are big and visible enough to carry detail."""
    lm = face.landmarks_px[:, :2]
    for iris, (c0, c1, up, down) in EYE_LIDS.items():
        radius = float(np.linalg.norm(lm[iris + 1:iris + 5] - lm[iris], axis=1).mean())
        width = float(np.linalg.norm(lm[c0] - lm[c1]))
        gap = float(np.linalg.norm(lm[up] - lm[down]))
        if radius < MIN_IRIS_RADIUS_PX or gap < MIN_EYE_OPENNESS * width:
            return False
        if _iris_visible(lm, iris, radius) < MIN_IRIS_VISIBLE:
            return False
    return True


def _iris_visible(lm: np.ndarray, iris: int, radius: float) -> float:
    """Share of the iris disc that lies inside the eye opening."""
    x0, y0 = np.floor(lm[iris] - radius).astype(int)
    size = int(np.ceil(2 * radius)) + 2
    disc = np.zeros((size, size), np.uint8)
    centre = (int(round(lm[iris, 0] - x0)), int(round(lm[iris, 1] - y0)))
    cv2.circle(disc, centre, int(round(radius)), (1,), -1)
    opening = np.zeros_like(disc)
    cv2.fillPoly(opening, [np.round(lm[EYE_RING[iris]] - (x0, y0)).astype(np.int32)], (1,))
    return float((disc & opening).sum()) / max(float(disc.sum()), 1.0)


def _eye_colours(rgb: np.ndarray, face: FaceAnalysis, iris: int) -> tuple[np.ndarray, np.ndarray]:
    """Median iris and sclera colours (RGB float) of one eye: inside the opening, within and beyond
    the iris circle."""
    lm = face.landmarks_px[:, :2]
    radius = float(np.linalg.norm(lm[iris + 1:iris + 5] - lm[iris], axis=1).mean())
    opening = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(opening, [np.round(lm[EYE_RING[iris]]).astype(np.int32)], (1,))
    disc = np.zeros_like(opening)
    cv2.circle(disc, (int(round(lm[iris, 0])), int(round(lm[iris, 1]))), int(round(radius)), (1,), -1)
    inside = rgb[(opening & disc) > 0].astype(np.float32)
    sclera = rgb[(opening & (1 - disc)) > 0].astype(np.float32)
    iris_rgb = np.median(inside, axis=0) if len(inside) else np.array(PAINTED["iris"], np.float32)
    if len(sclera):  # the lighter half: lashes and lid shadow are not sclera
        luma = sclera @ np.array([0.299, 0.587, 0.114], np.float32)
        sclera_rgb = np.median(sclera[luma >= np.median(luma)], axis=0)
    else:
        sclera_rgb = np.array(PAINTED["sclera"], np.float32)
    return iris_rgb, sclera_rgb


def _paint_eyes(texture: np.ndarray, rgb: np.ndarray, face: FaceAnalysis, likeness: LikenessResult,
                vertices: np.ndarray, faces: np.ndarray, uv_px: np.ndarray, eyeballs: dict[int, np.ndarray],
                balanced: np.ndarray, from_photo: bool) -> None:
    """Draw both eyeballs into ``texture`` (in place): per texel, the direction from the eyeball's
    centre picks pupil, iris or sclera; from the photo, the iris texels sample the photo's iris
    through the iris landmarks (its radius matching the eyeball's iris cap)."""
    cam = model_to_camera(vertices)
    size = texture.shape[0]
    sin_iris = float(np.sqrt(1 - IRIS_COS**2))
    for joint, vertex_ids in eyeballs.items():
        tri = np.flatnonzero(np.isin(faces, vertex_ids).all(axis=1))
        if len(tri) == 0:
            continue
        centre = cam[vertex_ids].mean(axis=0)
        direction = cam - centre
        direction /= np.linalg.norm(direction, axis=1, keepdims=True) + 1e-12
        x0, y0, x1, y1 = _window(uv_px[tri], size, 1)
        maps = _rasterize(uv_px[tri], direction[faces[tri]], (x0, y0, x1, y1))
        on = ~np.isnan(maps[..., 0])
        d = maps[on]
        d /= np.linalg.norm(d, axis=1, keepdims=True) + 1e-12
        colour = np.tile(np.array(PAINTED["sclera"], np.float32), (len(d), 1))
        iris_mask = d[:, 2] > IRIS_COS
        colour[iris_mask] = PAINTED["iris"]
        colour[d[:, 2] > PUPIL_COS] = PAINTED["pupil"]
        if from_photo:
            iris = LEFT_IRIS if joint == L_EYE else RIGHT_IRIS  # the subject's left eye is image right
            lm = face.landmarks_px[:, :2]
            radius = float(np.linalg.norm(lm[iris + 1:iris + 5] - lm[iris], axis=1).mean())
            iris_rgb, sclera_rgb = _eye_colours(balanced.astype(np.uint8), face, iris)
            rot = likeness.alignment.rotation  # keep the photo's head roll
            local = d @ rot.T
            px = lm[iris, 0] + local[:, 0] / sin_iris * radius
            py = lm[iris, 1] - local[:, 1] / sin_iris * radius
            sampled = cv2.remap(balanced, px.astype(np.float32)[:, None], py.astype(np.float32)[:, None],
                                cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[:, 0]
            opening = np.zeros(rgb.shape[:2], np.uint8)
            cv2.fillPoly(opening, [np.round(lm[EYE_RING[iris]]).astype(np.int32)], (1,))
            xi = np.clip(np.round(px).astype(int), 0, rgb.shape[1] - 1)
            yi = np.clip(np.round(py).astype(int), 0, rgb.shape[0] - 1)
            seen = opening[yi, xi] > 0
            colour[:] = sclera_rgb
            colour[iris_mask] = np.where(seen[iris_mask, None], sampled[iris_mask], iris_rgb)
        texture[y0:y1, x0:x1][on] = colour


def _filled(mask: np.ndarray) -> np.ndarray:
    """``mask`` with its holes filled (the eye and mouth openings of the face's UV island)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros(mask.shape, np.uint8)
    cv2.drawContours(filled, contours, -1, (1,), -1)
    return filled > 0


def _poisson_blend(photo: np.ndarray, inside: np.ndarray, tone: np.ndarray) -> np.ndarray:
    """Poisson (gradient-domain) blend of ``photo`` into the plain ``tone`` over ``inside``: the
    photo's gradients inside, the tone's values on the edge, so no step is left there."""
    pad = 4  # OpenCV needs the mask clear of the image border
    mask = cv2.copyMakeBorder(inside.astype(np.uint8) * np.uint8(255), pad, pad, pad, pad,
                              cv2.BORDER_CONSTANT, value=(0,))
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return np.broadcast_to(tone, photo.shape).astype(np.float32)
    src = cv2.copyMakeBorder(np.clip(photo, 0, 255).astype(np.uint8), pad, pad, pad, pad,
                             cv2.BORDER_REPLICATE)
    dst = np.empty_like(src)
    dst[:] = np.clip(np.round(tone), 0, 255).astype(np.uint8)
    centre = ((int(xs.min()) + int(xs.max()) + 1) // 2, (int(ys.min()) + int(ys.max()) + 1) // 2)
    out = cv2.seamlessClone(src, dst, mask, centre, cv2.NORMAL_CLONE)
    return np.asarray(out[pad:-pad, pad:-pad], np.float32)


def seam_step(texture: np.ndarray, inside: np.ndarray, covered: np.ndarray, band: int = 12) -> float:
    """Median colour step (ΔE*ab) across the outer edge of ``inside`` (the photo's part of the face)
    in UV space: at every edge texel, the mean CIELAB colour of the covered texels within ``band``
    texels on the inside against that on the outside."""
    lab = srgb_to_lab(texture.astype(np.float64) / 255.0)
    inside = _filled(inside)  # the outer edge only: eye and mouth openings are not the face's edge
    square = np.ones((3, 3), np.uint8)
    edge = (cv2.morphologyEx(inside.astype(np.uint8), cv2.MORPH_GRADIENT, square) > 0) & covered
    if not edge.any():
        return 0.0
    kernel = (2 * band + 1, 2 * band + 1)

    def local_mean(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = region.astype(np.float64)
        count = cv2.boxFilter(r, -1, kernel, normalize=False)
        total = np.stack([cv2.boxFilter(lab[..., k] * r, -1, kernel, normalize=False) for k in range(3)], -1)
        return total / np.maximum(count, 1e-9)[..., None], count

    mean_in, n_in = local_mean(inside & covered)
    mean_out, n_out = local_mean(~inside & covered)
    ok = edge & (n_in > band) & (n_out > band)
    if not ok.any():
        return 0.0
    return float(np.median(np.linalg.norm(mean_in[ok] - mean_out[ok], axis=1)))


def build_appearance(
    rgb: np.ndarray,
    face: FaceAnalysis,
    likeness: LikenessResult,
    skin: SkinTone,
    vertices: np.ndarray,
    faces: np.ndarray,
    uv: np.ndarray,
    face_uv: np.ndarray,
    size: int = TEXTURE_PX,
    hair_mask: np.ndarray | None = None,
    eyeballs: dict[int, np.ndarray] | None = None,
    blend: Literal["poisson", "feather"] = "poisson",
) -> FaceTexture:
    """The body texture with the face photo, skin matched to it, and eyes.

    ``vertices`` (V, 3) are the fitted rest vertices (face changes included), ``faces`` (F, 3) their
    triangles, ``uv`` (T, 2) Anny's texture coordinates (origin bottom-left) and ``face_uv`` (F, 3)
    the per-corner indices into ``uv``. ``hair_mask`` (photo-sized bool) keeps the photo's hair off
    the face; ``eyeballs`` maps the SMPL-X eye joints (23 left, 24 right) to their vertex indices
    (without it the eyes are left to the renderer). ``blend="feather"`` is the plain alpha blend
    into the measured skin tone that preceded the Poisson blend (kept to measure the seam against).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3), got {rgb.shape}")
    photo_px = project_to_photo(vertices, face, likeness)
    weight = _vertex_weights(vertices, faces, photo_px, face, likeness)
    eye_ids = np.concatenate(list(eyeballs.values())) if eyeballs else np.zeros(0, int)
    weight[eye_ids] = 0.0
    used = weight[faces].max(axis=1) > 0
    all_uv_px = np.stack([uv[:, 0] * size, (1 - uv[:, 1]) * size], 1)[face_uv]
    attrs = np.concatenate([photo_px[faces[used]], weight[faces[used]][..., None]], axis=2)
    x0, y0, x1, y1 = _window(all_uv_px[used], size, WINDOW_PAD)
    maps = _rasterize(all_uv_px[used], attrs, (x0, y0, x1, y1))
    covered = ~np.isnan(maps[..., 2])
    balanced = np.clip(rgb.astype(np.float32) * np.asarray(skin.wb_gains, dtype=np.float32), 0, 255)
    map_x = np.nan_to_num(maps[..., 0]).astype(np.float32)
    map_y = np.nan_to_num(maps[..., 1]).astype(np.float32)
    sampled = cv2.remap(balanced, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = np.where(covered, maps[..., 2], 0.0).astype(np.float32)
    if hair_mask is not None and hair_mask.any():
        grow = max(1, int(HAIR_MARGIN_PX * face.inter_ocular_px))
        soft = cv2.GaussianBlur(hair_mask.astype(np.float32), (0, 0), grow)
        soft = np.clip(2 * soft, 0, 1)  # the hair and a margin round it count fully
        alpha *= 1.0 - cv2.remap(soft, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    photo_lab = srgb_to_lab(sampled / 255.0)
    # The face's skin as the texture shows it: every texel the photo covers that is skin-coloured
    # (eyes, brows, lips and hair excluded), shaded edges included.
    near_tone = np.linalg.norm(photo_lab - np.asarray(skin.lab), axis=-1) < SKIN_LIKE_DE
    skin_like = (alpha > 0.5) & covered & near_tone
    if blend == "poisson" and skin_like.sum() > 100:
        skin_lab = np.median(photo_lab[skin_like], axis=0)
        tone = np.asarray(lab_to_srgb(skin_lab) * 255.0, np.float32)
        # Off the photo's part, the source is the skin itself, so no stray photo pixel leaks in.
        source = np.where((alpha > 0.25)[..., None], sampled, tone)
        # Holes filled: pinning the eye and mouth openings to skin would wash out lids and lips.
        window = _poisson_blend(source, _filled(alpha > 0.5), tone)
    else:
        tone = np.asarray(skin.srgb, dtype=np.float32)
        alpha = cv2.GaussianBlur(alpha, (0, 0), FEATHER_TEXELS) * covered
        window = alpha[..., None] * sampled + (1 - alpha[..., None]) * tone
    texture = np.empty((size, size, 3), np.float32)
    texture[:] = tone
    texture[y0:y1, x0:x1] = window
    out = np.clip(np.round(texture), 0, 255).astype(np.uint8)
    seam = seam_step(out[y0:y1, x0:x1], maps[..., 2] > 0.5, covered)
    from_photo = eyes_from_photo(face)
    if eyeballs:
        _paint_eyes(out, rgb, face, likeness, vertices, faces, all_uv_px, eyeballs, balanced, from_photo)
    skin_srgb = tuple(int(c) for c in np.clip(np.round(tone), 0, 255))
    log.info("face texture: %d head triangles take the photo; seam %.2f ΔE; eyes %s", int(used.sum()), seam,
             "from the photo" if from_photo else "painted")
    eyes = "photo" if from_photo and eyeballs else "painted"
    return FaceTexture(out, skin_srgb, eyes, seam)  # type: ignore[arg-type]


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
    """(size, size, 3) uint8 body texture: :func:`build_appearance` without hair mask or eyes."""
    return build_appearance(rgb, face, likeness, skin, vertices, faces, uv, face_uv, size).texture
