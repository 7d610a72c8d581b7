"""Skin tone from a face photo: CIELAB of cheek and forehead patches, ITA° and the nearest Monk swatch.

The patches are landmark polygons that stay clear of hair, brows, eyes, nostrils and lips; inside them
the brightest and darkest pixels (specular highlights, stray hair, shadow) are trimmed away. A clamped
gray-world correction, estimated on near-grey pixels outside the face, takes out most of a colour cast.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from avatar.face.analysis import FACE_OVAL

# Polygons of MediaPipe landmark indices (the subject's right cheek is on the image's left).
CHEEK_RIGHT = [117, 118, 101, 36, 205, 187, 123]
CHEEK_LEFT = [346, 347, 330, 266, 425, 411, 352]
FOREHEAD = [104, 69, 108, 151, 337, 299, 333, 9]
PATCHES = {"cheek_right": CHEEK_RIGHT, "cheek_left": CHEEK_LEFT, "forehead": FOREHEAD}

# The Monk Skin Tone scale (Google, 2022), MST 1 (lightest) to MST 10 (darkest), as published.
MONK_HEX = ["#f6ede4", "#f3e7db", "#f7ead0", "#eadaba", "#d7bd96",
            "#a07e56", "#825c43", "#604134", "#3a312a", "#292420"]
MAX_WB_GAIN = 1.15  # a colour cast stronger than this is more likely a coloured background
GREY_MAX_SATURATION = 0.25  # (max - min) / max of an RGB pixel that may vote for the illuminant


@dataclass(frozen=True)
class SkinTone:
    """Skin colour measured on the face: CIELAB (D65), ITA° and the nearest Monk Skin Tone swatch."""

    lab: tuple[float, float, float]
    ita_deg: float
    monk: int
    monk_hex: str
    srgb: tuple[int, int, int]
    wb_gains: tuple[float, float, float]
    n_pixels: int

    def summary(self) -> dict[str, object]:
        return {
            "lab": [round(v, 1) for v in self.lab],
            "ita_deg": round(self.ita_deg, 1),
            "monk": self.monk,
            "monk_hex": self.monk_hex,
            "srgb_hex": "#{:02x}{:02x}{:02x}".format(*self.srgb),
        }


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB in [0, 1] to CIELAB under D65."""
    c = np.asarray(rgb, dtype=np.float64)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """(..., 3) CIELAB (D65) to sRGB in [0, 1], clipped to the gamut."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * np.array([0.95047, 1.0, 1.08883])
    m_inv = np.array([[3.2404542, -1.5371385, -0.4985314],
                      [-0.9692660, 1.8760108, 0.0415560],
                      [0.0556434, -0.2040259, 1.0572252]])
    lin = np.clip(xyz @ m_inv.T, 0, 1)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def _hex_to_rgb(value: str) -> np.ndarray:
    return np.array([int(value[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64) / 255.0


MONK_LAB = srgb_to_lab(np.stack([_hex_to_rgb(h) for h in MONK_HEX]))


def ita_degrees(lab: np.ndarray) -> float:
    """Individual Typology Angle: arctan((L* - 50) / b*) in degrees (> 55 very light, < -30 dark)."""
    return float(np.degrees(np.arctan2(lab[0] - 50.0, lab[2])))


def nearest_monk(lab: np.ndarray) -> int:
    """The Monk swatch (1-10) nearest in CIELAB (ΔE*ab)."""
    return int(np.argmin(np.linalg.norm(MONK_LAB - lab, axis=1))) + 1


def _polygon_mask(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], (1,))
    return mask.astype(bool)


def gray_world_gains(rgb: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
    """Per-channel gains that make the near-grey pixels outside the face neutral on average.

    Only low-saturation, mid-brightness pixels vote (walls, shirts, paper): plain gray-world over all
    pixels mistakes blond hair or an orange jacket for a colour cast. The gains are clamped to
    [1/MAX_WB_GAIN, MAX_WB_GAIN]; with fewer than 1 % voting pixels there is no correction.
    """
    face = _polygon_mask(rgb.shape[:2], landmarks_px[FACE_OVAL, :2])
    rest = rgb[~face].astype(np.float64) / 255.0
    hi, lo = rest.max(axis=1), rest.min(axis=1)
    grey = (hi - lo < GREY_MAX_SATURATION * hi) & (hi > 0.15) & (hi < 0.95)
    if grey.sum() < 0.01 * rgb.shape[0] * rgb.shape[1]:
        return np.ones(3)
    means = rest[grey].mean(axis=0)
    return np.clip(means.mean() / means, 1 / MAX_WB_GAIN, MAX_WB_GAIN)


def skin_pixels(rgb: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 pixels of the cheek and forehead patches, each patch trimmed to its 10-90 %
    luminance range (highlights, hair strands and shadows fall outside it)."""
    chosen = []
    for polygon in PATCHES.values():
        px = rgb[_polygon_mask(rgb.shape[:2], landmarks_px[polygon, :2])]
        if len(px) < 10:
            continue
        luma = px.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        lo, hi = np.percentile(luma, [10, 90])
        chosen.append(px[(luma >= lo) & (luma <= hi)])
    if not chosen:
        raise ValueError("the face is too small to sample skin: every patch has fewer than 10 pixels")
    return np.concatenate(chosen)


def measure_skin_tone(rgb: np.ndarray, landmarks_px: np.ndarray) -> SkinTone:
    """Skin tone of the face whose (478, 3) landmarks are given, in an upright RGB photo."""
    gains = gray_world_gains(rgb, landmarks_px)
    pixels = skin_pixels(rgb, landmarks_px).astype(np.float64) / 255.0
    balanced = np.clip(pixels * gains, 0, 1)
    lab = np.median(srgb_to_lab(balanced), axis=0)
    srgb = np.round(lab_to_srgb(lab) * 255).astype(int)
    monk = nearest_monk(lab)
    return SkinTone(
        lab=(float(lab[0]), float(lab[1]), float(lab[2])),
        ita_deg=ita_degrees(lab),
        monk=monk,
        monk_hex=MONK_HEX[monk - 1],
        srgb=(int(srgb[0]), int(srgb[1]), int(srgb[2])),
        wb_gains=(float(gains[0]), float(gains[1]), float(gains[2])),
        n_pixels=len(pixels),
    )
