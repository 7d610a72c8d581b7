"""Hair from the face photo: a mask, its colour (CIELAB), the hairline and the silhouette class.

Entry points: :func:`analyze_hair` (photo + face analysis + skin tone → :class:`HairAnalysis`) and
:func:`hair_iou` (the hair-silhouette IoU of two masks in the frame aligned on the eyes, for the
identity measure). ``HairAnalysis.drawn`` says whether the avatar gets hair, ``reason`` why not.

The person is segmented with MediaPipe's selfie segmentation (general model, shipped in the wheel).
Hair is the part of the person that is outside the face, neither skin-coloured nor far from the
colour sampled just above the forehead, and connected to that sample. Below the eye line only hair
that runs down beside the face without a break counts, so a dark shirt touching dark hair does not
make short hair long. All lengths are in units of the inter-ocular distance (IOD), measured from the
eye line (y down), so they carry over to any body model through its own eye distance.

When the photo cannot tell (no hair-coloured band above the forehead: bald or very short hair; a
colour no natural hair has, or a brim: a hat; hair that matches the background; a hesitant
segmentation) the result is not drawn: a wrong hairstyle is worse than none.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import cv2
import numpy as np

from avatar.face.analysis import FACE_OVAL, LEFT_IRIS, RIGHT_IRIS, FaceAnalysis
from avatar.face.skintone import SkinTone, lab_to_srgb, srgb_to_lab

log = logging.getLogger(__name__)

HairClass = Literal["short", "medium", "long", "tied_back"]
FOREHEAD_TOP = 10
CHIN = 152
BROWS = (105, 334)  # upper brow points, image left and right
FOREHEAD_SIDES = (109, 338)  # the seed band runs between these columns
# Decisions, in IOD units or CIELAB ΔE*ab; chosen from what they mean, not fitted to any photo.
MIN_SEED_AREA = 0.15  # IOD²: less hair-coloured area than this above the forehead = bald or very short
SEED_SHARE = 0.6  # the upper share of the band above the forehead that is judged for hair
MIN_SEED_COVERAGE = 0.55  # share of the band above the forehead that must be hair-coloured, not scalp
SKIN_DELTA_E = 10.0  # a pixel this close to the skin tone (lightness at half weight) is skin
HAIR_DELTA_E = (10.0, 25.0)  # below the eyes, hair is within 2.5 spreads of one of its colours, clipped
THIN_IOD = 0.12  # hair below the eyes is at least this thick
UPPER_SPREADS = 1.5  # above the eyes the hair may stray 1.5 times further from its colour
MIN_BACKGROUND_DELTA_E = 8.0  # hair closer than this to the background cannot be told from it
MAX_SOFT_SHARE = 0.35  # share of hesitant (0.25-0.75) segmentation values along the hair outline
MAX_BRIM_IOD = 0.45  # the hair above the hairline may be this much wider than at the temples
SIDE_GAP_IOD = 0.15  # a break this long in the hair beside the face ends it
TIGHT_IOD = 0.12  # hair this close to the face outline at the temples lies flat (tied back or short)
SHORT_BELOW_EYES_IOD = 0.9  # hair ending above this (below the eye line) is short
LONG_BELOW_CHIN_IOD = 1.2  # hair ending this far below the chin is long
SKULL_CENTRE_DEPTH_IOD = 1.1  # the skull's dome is centred about this far behind the eyes (adult heads)
ROI_IOD = (3.2, 3.5, 6.0)  # region searched: half-width, above the eyes, below the eyes


@dataclass(frozen=True)
class HairAnalysis:
    """What the photo says about the hair. Lengths in IOD units from the eye line, y down.

    ``mask`` (H, W) bool is the hair in the photo (kept in memory only, for the IoU); ``eyes_px``
    (2, 2) are the iris centres (image left, image right) it is aligned on.
    """

    drawn: bool
    reason: str | None
    hair_class: HairClass | None
    lab: tuple[float, float, float] | None
    srgb: tuple[int, int, int] | None
    hairline_iod: float | None  # height of the hairline above the eye line at the forehead centre
    top_iod: float | None  # height of the top of the hair above the eye line
    side_iod: float | None  # half-width of the hair at the temples, from the face centre
    bottom_iod: float | None  # lowest hair beside the face below the eye line
    face_half_width_iod: float
    mask: np.ndarray
    eyes_px: np.ndarray
    inter_ocular_px: float

    def summary(self) -> dict[str, Any]:
        """The ``hair`` entry of the result's ``face`` block (no mask: it outlines the person)."""
        out: dict[str, Any] = {"drawn": self.drawn, "reason": self.reason, "class": self.hair_class}
        if self.lab is not None and self.srgb is not None:
            out["lab"] = [round(v, 1) for v in self.lab]
            out["srgb_hex"] = "#{:02x}{:02x}{:02x}".format(*self.srgb)
        for key in ("hairline_iod", "top_iod", "side_iod", "bottom_iod"):
            value = getattr(self, key)
            out[key] = None if value is None else round(value, 3)
        return out


class _Segmenter:
    """One selfie-segmentation graph per process, used under a lock (MediaPipe graphs are not
    re-entrant and cost more to build than to run)."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._lock = threading.Lock()
        self._graph = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)

    def person(self, rgb: np.ndarray) -> np.ndarray:
        with self._lock:
            result = self._graph.process(np.ascontiguousarray(rgb))
        return np.asarray(result.segmentation_mask, dtype=np.float32)


@lru_cache(maxsize=1)
def _segmenter() -> _Segmenter:
    return _Segmenter()


def person_probability(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: how sure the selfie segmentation is that a pixel is the person."""
    return _segmenter().person(rgb)


def _delta_e(lab: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.asarray(np.linalg.norm(lab - ref, axis=-1))


def _palette_distance(lab: np.ndarray, samples: np.ndarray) -> tuple[np.ndarray, float]:
    """ΔE of every pixel to the nearest of the hair's few colours (k-means, k = 3, on ``samples``:
    sunlit and shaded hair differ more than hair and skin do), and the samples' own median ΔE to
    their colour (the spread)."""
    rng = np.random.default_rng(0)
    pick = samples[rng.choice(len(samples), min(len(samples), 3000), replace=False)].astype(np.float32)
    k = min(3, len(pick))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, assigned, centres = cv2.kmeans(pick, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]
    spread = float(np.median(np.linalg.norm(pick - centres[assigned[:, 0]], axis=1)))
    dist = np.min(np.stack([_delta_e(lab, c) for c in centres]), axis=0)
    return dist, spread


def _skin_distance(lab: np.ndarray, skin_lab: np.ndarray) -> np.ndarray:
    """ΔE to the skin tone with lightness at half weight: shaded skin (ears, neck) stays skin."""
    d = lab - skin_lab
    return np.asarray(np.sqrt((0.5 * d[..., 0]) ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2))


def natural_hair_colour(lab: np.ndarray) -> bool:
    """Black, grey, white, brown, blond and red hair: low chroma, or a warm hue (15°-100°) below
    chroma 45. A blue, green or purple "hair" colour is more likely a hat than dyed hair."""
    chroma = float(np.hypot(lab[1], lab[2]))
    hue = float(np.degrees(np.arctan2(lab[2], lab[1])))
    return chroma < 12.0 or (15.0 <= hue <= 100.0 and chroma < 45.0)


def _no_hair(reason: str, shape: tuple[int, int], eyes: np.ndarray, iod: float, half_width: float,
             lab: np.ndarray | None = None) -> HairAnalysis:
    log.info("hair left out: %s", reason)
    srgb = None if lab is None else tuple(int(v) for v in np.round(lab_to_srgb(lab) * 255))
    lab_t = None if lab is None else (float(lab[0]), float(lab[1]), float(lab[2]))
    return HairAnalysis(False, reason, None, lab_t,
                        srgb, None, None, None, None, half_width, np.zeros(shape, bool), eyes, iod)  # type: ignore[arg-type]


def _unpitched(height: float, depth: float, pitch_deg: float) -> float:
    """The height above the eye line, in the head's own frame, of a point seen ``height`` above it in
    the photo and lying ``depth`` behind the eyes' plane (IOD units): a head tilted up (pitch > 0)
    lowers in the image what lies behind the eyes."""
    p = np.radians(pitch_deg)
    return float((height + depth * np.sin(p)) / np.cos(p))


def _side_bottom(hair: np.ndarray, eye_y: int, x_lo: int, x_hi: int, gap_px: int) -> int:
    """The last row, going down from the eye line, with hair between columns x_lo and x_hi before a
    break of more than ``gap_px`` rows (``eye_y`` if there is none)."""
    rows = hair[eye_y:, max(x_lo, 0):max(x_hi, 0)].any(axis=1)
    last, gap = -1, 0
    for i, has in enumerate(rows):
        if has:
            last, gap = i, 0
        else:
            gap += 1
            if gap > gap_px:
                break
    return eye_y + max(last, 0)


def analyze_hair(rgb: np.ndarray, face: FaceAnalysis, skin: SkinTone) -> HairAnalysis:
    """Segment the hair of the one analysed face and describe it (see the module docstring)."""
    h, w = rgb.shape[:2]
    lm = face.landmarks_px
    iod = face.inter_ocular_px
    eyes = np.stack([lm[RIGHT_IRIS, :2], lm[LEFT_IRIS, :2]])
    centre = eyes.mean(axis=0)
    cx, eye_y = float(centre[0]), int(round(centre[1]))
    oval = lm[FACE_OVAL, :2]
    half_width = float((oval[:, 0].max() - oval[:, 0].min()) / 2 / iod)

    def none(reason: str, lab: np.ndarray | None = None) -> HairAnalysis:
        return _no_hair(reason, (h, w), eyes, iod, half_width, lab)

    x0 = max(0, int(cx - ROI_IOD[0] * iod))
    x1 = min(w, int(cx + ROI_IOD[0] * iod))
    y0 = max(0, int(eye_y - ROI_IOD[1] * iod))
    y1 = min(h, int(eye_y + ROI_IOD[2] * iod))
    prob = person_probability(rgb)[y0:y1, x0:x1]
    person = prob > 0.5
    balanced = np.clip(rgb[y0:y1, x0:x1].astype(np.float32) * np.asarray(skin.wb_gains, np.float32), 0, 255)
    lab = srgb_to_lab(balanced / 255.0)
    skin_lab = np.asarray(skin.lab)
    local = lm[:, :2] - (x0, y0)
    face_poly = np.zeros(person.shape, np.uint8)
    cv2.fillPoly(face_poly, [np.round(local[FACE_OVAL]).astype(np.int32)], (1,))
    in_face = face_poly.astype(bool)
    ey = eye_y - y0
    brow_y = int(min(local[b, 1] for b in BROWS))
    top_y = int(local[FOREHEAD_TOP, 1])
    fx0, fx1 = (int(round(local[i, 0])) for i in FOREHEAD_SIDES)
    fx0, fx1 = min(fx0, fx1), max(fx0, fx1)
    not_skin = _skin_distance(lab, skin_lab) > SKIN_DELTA_E
    rows = np.arange(person.shape[0])[:, None]
    cols = np.arange(person.shape[1])[None, :]
    chin_row = int(local[CHIN, 1])

    # The seed: the person above the forehead, between the temples, that is not skin. Only the upper
    # part of that band is judged: its lower rows may be forehead below a high hairline.
    band = np.zeros(person.shape, bool)
    band[:max(top_y, 0), fx0:fx1] = True
    band &= person & ~in_face
    rows_on = np.flatnonzero(band.any(axis=1))
    if len(rows_on):
        crown = rows_on[0]
        band[crown + int(SEED_SHARE * (max(top_y, crown) - crown)) + 1:] = False
    seed = band & not_skin
    if band.sum() == 0 or seed.sum() / iod**2 < MIN_SEED_AREA:
        return none("no hair above the forehead (bald or very short hair)")
    if seed.sum() / band.sum() < MIN_SEED_COVERAGE:
        return none("the scalp shows above the forehead (very short hair)")
    hair_lab = np.median(lab[seed], axis=0)
    if not natural_hair_colour(hair_lab):
        return none("the colour above the forehead is no natural hair colour (a hat?)", hair_lab)
    # Above the eyes, what belongs to the person and is neither face nor skin is hair; lower down,
    # shaded ears, neck and clothes begin, so only pixels of the hair's own colours count there.
    head = person & not_skin & ~(in_face & (rows > brow_y))
    upper = head & (rows < ey)
    distance, spread = _palette_distance(lab, lab[upper])
    tolerance = float(np.clip(2.5 * spread, *HAIR_DELTA_E))
    lower = head & (rows >= ey) & (distance < tolerance)
    # Thin strips along the outline are the background bleeding into the mask, not hair.
    size = max(3, int(THIN_IOD * iod) | 1)
    lower = cv2.morphologyEx(lower.astype(np.uint8), cv2.MORPH_OPEN, np.ones((size, size), np.uint8)) > 0
    candidate = (upper & (distance < UPPER_SPREADS * tolerance)) | lower
    n, labels = cv2.connectedComponents(candidate.astype(np.uint8), connectivity=8)
    keep = np.unique(labels[seed & candidate])
    hair = np.isin(labels, keep[keep > 0])

    # Below the eye line, hair must run down beside the face without a break.
    gap = max(1, int(SIDE_GAP_IOD * iod))
    face_l = int(local[FACE_OVAL, 0].min())
    face_r = int(local[FACE_OVAL, 0].max())
    side = int(1.2 * iod)
    edge = int(0.15 * iod)
    bottoms = [_side_bottom(hair, ey, face_l - side, face_l + edge, gap),
               _side_bottom(hair, ey, face_r - edge, face_r + side, gap)]
    bottom_y = max(bottoms)
    beside = (cols < face_l + edge) | (cols > face_r - edge)
    hair &= (rows <= ey) | ((rows <= bottom_y) & beside)

    # A hesitant or background-coloured outline: the segmenter cannot tell where the hair ends.
    ring = cv2.dilate(person.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~person
    ring &= rows < ey
    if ring.sum() > 20:
        background = np.median(lab[ring], axis=0)
        if float(np.linalg.norm(background - hair_lab)) < MIN_BACKGROUND_DELTA_E:
            return none("the hair has the background's colour", hair_lab)
    square = np.ones((5, 5), np.uint8)
    outline = cv2.morphologyEx(hair.astype(np.uint8), cv2.MORPH_GRADIENT, square).astype(bool)
    outline &= ~in_face
    hesitant = (prob[outline] > 0.25) & (prob[outline] < 0.75)
    if outline.sum() > 20 and float(hesitant.mean()) > MAX_SOFT_SHARE:
        return none("the segmentation is unsure where the hair ends", hair_lab)

    # Measurements (IOD units, from the eye line). MediaPipe's z is depth in pixels, nearer smaller.
    forehead_depth = float(lm[FOREHEAD_TOP, 2] - (lm[LEFT_IRIS, 2] + lm[RIGHT_IRIS, 2]) / 2) / iod
    central = hair[:, fx0:fx1]
    tops = [int(np.argmax(col)) for col in central.T if col.any()]
    hairlines = []
    for col in central.T:
        run = np.flatnonzero(col[:brow_y])
        if len(run):
            hairlines.append(int(run.max()))
    if not tops or not hairlines:
        return none("no hair above the forehead (bald or very short hair)", hair_lab)
    top_row = float(np.percentile(tops, 10))
    hairline_row = float(np.median(hairlines))
    xs = np.arange(hair.shape[1]) + x0 - cx

    def half_extent(r0: int, r1: int) -> float:
        sub = hair[max(r0, 0):max(r1, 1)]
        widths = [float(np.abs(xs[np.flatnonzero(r)]).max()) for r in sub if r.any()]
        return float(np.percentile(widths, 90)) / iod if widths else 0.0

    temples = half_extent(int(hairline_row), ey)
    crown = half_extent(0, int(hairline_row))
    if crown > max(temples, half_width) + MAX_BRIM_IOD:
        return none("the outline above the forehead sticks out like a brim (a hat?)", hair_lab)
    bottom_iod = (bottom_y - ey) / iod
    chin_iod = (local[CHIN, 1] - ey) / iod
    tight = temples < half_width + TIGHT_IOD
    if bottom_iod < SHORT_BELOW_EYES_IOD:
        below_chin = (candidate & beside)[chin_row:]
        hair_class: HairClass = "tied_back" if tight and below_chin.sum() / iod**2 > 0.3 else "short"
    elif bottom_iod < chin_iod + LONG_BELOW_CHIN_IOD:
        hair_class = "medium"
    else:
        hair_class = "long"
    full = np.zeros((h, w), bool)
    full[y0:y1, x0:x1] = hair
    hair_lab = np.median(lab[hair & (rows < ey)], axis=0)  # the head's hair, not only its lit top
    srgb = tuple(int(v) for v in np.round(lab_to_srgb(hair_lab) * 255))
    log.info("hair: %s, ΔE spread %.1f, %.0f px", hair_class, spread, float(hair.sum()))
    return HairAnalysis(
        drawn=True, reason=None, hair_class=hair_class,
        lab=(float(hair_lab[0]), float(hair_lab[1]), float(hair_lab[2])),
        srgb=srgb,  # type: ignore[arg-type]
        hairline_iod=_unpitched((ey - hairline_row) / iod, forehead_depth, face.pose.pitch),
        top_iod=_unpitched((ey - top_row) / iod, SKULL_CENTRE_DEPTH_IOD, face.pose.pitch),
        side_iod=max(temples, half_width), bottom_iod=bottom_iod, face_half_width_iod=half_width,
        mask=full, eyes_px=eyes, inter_ocular_px=iod,
    )


# The frame both masks are resampled into: unit IOD, eye midpoint at the origin, eye line level.
FRAME_IOD = (-3.0, 3.0, -3.5, 6.0)  # x min, x max, y min (above the eyes), y max (below), y down
FRAME_STEP = 0.02


def to_eye_frame(mask: np.ndarray, eyes_px: np.ndarray) -> np.ndarray:
    """A (H, W) mask resampled into the eye-aligned frame (:data:`FRAME_IOD`), the eye line
    levelled. ``eyes_px`` (2, 2) are the eye centres, image left then image right."""
    left, right = np.asarray(eyes_px, np.float64)
    centre = (left + right) / 2
    axis = right - left
    iod = float(np.linalg.norm(axis))
    ux = axis / iod
    uy = np.array([-ux[1], ux[0]])
    x_min, x_max, y_min, y_max = FRAME_IOD
    gx, gy = np.meshgrid(np.arange(x_min, x_max, FRAME_STEP), np.arange(y_min, y_max, FRAME_STEP))
    map_x = centre[0] + iod * (gx * ux[0] + gy * uy[0])
    map_y = centre[1] + iod * (gx * ux[1] + gy * uy[1])
    out = cv2.remap(mask.astype(np.uint8), map_x.astype(np.float32), map_y.astype(np.float32),
                    cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=(0,))
    return out.astype(bool)


def hair_iou(photo_mask: np.ndarray, photo_eyes_px: np.ndarray, render_mask: np.ndarray,
             render_eyes_px: np.ndarray) -> float:
    """Hair-silhouette IoU of the photo's hair and a frontal render's, both aligned on the eyes
    (:func:`to_eye_frame`). ``render_mask`` is ``RenderBuffers.hair`` of a render whose eye joints
    project to ``render_eyes_px``. 0 when neither has hair pixels."""
    a = to_eye_frame(photo_mask, photo_eyes_px)
    b = to_eye_frame(render_mask, render_eyes_px)
    union = int(np.count_nonzero(a | b))
    return float(np.count_nonzero(a & b)) / union if union else 0.0
