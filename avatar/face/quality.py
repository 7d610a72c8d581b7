"""Quality gates for face photos: one exception, one stable code per reason, a message that says what to do.

The thresholds below were calibrated on the photos in ``data/faces`` and degraded variants of them
(downscaled, blurred, turned); the measured values are in the README's "Face photos" section and
are reproduced by ``python -m bench.face --calibrate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

RejectCode = Literal[
    "unsupported_image",
    "image_too_large",
    "no_face",
    "multiple_faces",
    "face_too_small",
    "not_frontal",
    "too_blurry",
]


@dataclass(frozen=True)
class Thresholds:
    """Limits a photo must meet. Pixel distances are in the oriented photo's pixels, angles in degrees."""

    max_bytes: int = 15 * 1024 * 1024
    max_pixels: int = 40_000_000
    min_inter_ocular_px: float = 40.0
    max_abs_yaw_deg: float = 25.0
    max_abs_pitch_deg: float = 20.0
    min_sharpness: float = 30.0


DEFAULT_THRESHOLDS = Thresholds()


class PhotoRejected(Exception):
    """A photo we refuse, with a stable ``code``, a message a shopper can act on, and the measured values.

    The API maps it to HTTP 422 and the CLI to exit code 2, both with :meth:`body` as JSON.
    """

    def __init__(self, code: RejectCode, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code: RejectCode = code
        self.message = message
        self.details: dict[str, Any] = details or {}

    def body(self) -> dict[str, Any]:
        """The common error shape ``{"error": {"code", "message", "details"}}``."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def check_face_count(n_faces: int) -> None:
    """Exactly one face: none means a wrong photo, several mean we cannot tell who the shopper is."""
    if n_faces == 0:
        raise PhotoRejected(
            "no_face",
            "No face was found in the photo. Upload a well-lit photo that shows your whole face.",
            {"faces": 0},
        )
    if n_faces > 1:
        raise PhotoRejected(
            "multiple_faces",
            f"The photo shows {n_faces} faces. Upload a photo in which only you appear.",
            {"faces": n_faces},
        )


def check_face(
    *,
    inter_ocular_px: float,
    yaw_deg: float,
    pitch_deg: float,
    sharpness: float,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> None:
    """Size, then pose, then sharpness: the order in which a shopper would most usefully fix them."""
    if inter_ocular_px < thresholds.min_inter_ocular_px:
        raise PhotoRejected(
            "face_too_small",
            "Your face is too small in the photo. Move closer or crop the photo so your face fills more "
            "of it.",
            {
                "inter_ocular_px": round(inter_ocular_px, 1),
                "min_inter_ocular_px": thresholds.min_inter_ocular_px,
            },
        )
    if abs(yaw_deg) > thresholds.max_abs_yaw_deg or abs(pitch_deg) > thresholds.max_abs_pitch_deg:
        raise PhotoRejected(
            "not_frontal",
            "Your head is turned or tilted. Look straight into the camera and take the photo again.",
            {
                "yaw_deg": round(yaw_deg, 1),
                "pitch_deg": round(pitch_deg, 1),
                "max_abs_yaw_deg": thresholds.max_abs_yaw_deg,
                "max_abs_pitch_deg": thresholds.max_abs_pitch_deg,
            },
        )
    if sharpness < thresholds.min_sharpness:
        raise PhotoRejected(
            "too_blurry",
            "The photo is too blurry. Hold the camera still, make sure it focuses on your face, and use "
            "more light.",
            {"sharpness": round(sharpness, 1), "min_sharpness": thresholds.min_sharpness},
        )
