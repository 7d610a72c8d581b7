"""Face analysis with MediaPipe face mesh: 478 landmarks, head pose, size, sharpness, likeness landmarks.

Entry points: :func:`detect_faces` (raw landmarks of up to three faces, so extra faces can be counted),
:func:`analyze_face` (one face, measured and gated), and ``python -m bench.face --bench|--calibrate``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from avatar.face.quality import DEFAULT_THRESHOLDS, Thresholds, check_face, check_face_count

log = logging.getLogger(__name__)

N_LANDMARKS = 478
MAX_FACES = 3
LEFT_IRIS = 473  # the subject's left eye: image right in a frontal photo
RIGHT_IRIS = 468
# The face outline, clockwise from the top of the forehead (MediaPipe FACEMESH_FACE_OVAL).
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
SHARPNESS_SIZE = 192  # the face crop is resampled to this many pixels a side before measuring


@dataclass(frozen=True)
class HeadPose:
    """Head rotation in degrees: yaw > 0 turns to the image's right, pitch > 0 tilts up, roll > 0 tilts
    the eye line clockwise in the image."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class FaceAnalysis:
    """One face measured in the upright photo. Pixel units are the photo's.

    ``landmarks_px`` is (478, 3): x and y in pixels, z (depth, smaller is nearer) in the same pixel
    scale as x, as MediaPipe defines it.
    """

    landmarks_px: np.ndarray
    image_size: tuple[int, int]
    box: tuple[int, int, int, int]
    inter_ocular_px: float
    pose: HeadPose
    sharpness: float
    n_faces: int = 1
    timings_s: dict[str, float] = field(default_factory=dict)

    def normalized_landmarks(self) -> np.ndarray:
        """(478, 3) landmarks centred on the eye midpoint, scaled to unit inter-ocular distance, y up.

        This is the likeness fitting's input: translation and scale of the photo are removed; the
        rotation is left to the similarity alignment that the fit does anyway.
        """
        pts = self.landmarks_px.astype(np.float64).copy()
        centre = (pts[LEFT_IRIS] + pts[RIGHT_IRIS]) / 2.0
        pts = (pts - centre) / self.inter_ocular_px
        pts[:, 1] *= -1.0  # image y grows down; the body models' up is positive
        pts[:, 2] *= -1.0  # MediaPipe z grows away from the camera; make +z point at the viewer
        return pts

    def summary(self) -> dict[str, Any]:
        """JSON-ready facts (no landmarks: they are biometric and not needed downstream)."""
        return {
            "pose": {k: round(v, 1) for k, v in vars(self.pose).items()},
            "box": list(self.box),
            "inter_ocular_px": round(self.inter_ocular_px, 1),
            "sharpness": round(self.sharpness, 1),
        }


class _Mesh:
    """One MediaPipe graph per process, used under a lock: building it costs more than running it."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._lock = threading.Lock()
        self._graph = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=True, max_num_faces=MAX_FACES,
            min_detection_confidence=0.5,
        )

    def process(self, rgb: np.ndarray) -> list[np.ndarray]:
        height, width = rgb.shape[:2]
        with self._lock:
            result = self._graph.process(np.ascontiguousarray(rgb))
        faces = []
        for lms in result.multi_face_landmarks or []:
            arr = np.array([(p.x * width, p.y * height, p.z * width) for p in lms.landmark], dtype=np.float64)
            faces.append(arr)
        return faces


@lru_cache(maxsize=1)
def _mesh() -> _Mesh:
    return _Mesh()


def _tiles(height: int, width: int) -> list[tuple[int, int, int]]:
    """Overlapping square tiles (x0, y0, side) along the long side of a non-square photo.

    MediaPipe's short-range detector squeezes the whole photo into 128 px, so in a wide photo (two
    people side by side) a small face can vanish; squares of the short side keep its scale.
    """
    side = min(height, width)
    long_side = max(height, width)
    if long_side < 1.3 * side:
        return []
    starts = list(range(0, long_side - side + 1, side // 2))
    if starts[-1] != long_side - side:
        starts.append(long_side - side)
    return [(s, 0, side) if width > height else (0, s, side) for s in starts]


def _dedupe(faces: list[np.ndarray]) -> list[np.ndarray]:
    """One entry per person: detections whose eye midpoints lie within one inter-ocular distance merge,
    keeping the one with the larger inter-ocular distance (the least cut-off view)."""
    def iod(face: np.ndarray) -> float:
        return float(np.linalg.norm(face[LEFT_IRIS, :2] - face[RIGHT_IRIS, :2]))

    kept: list[np.ndarray] = []
    for face in sorted(faces, key=iod, reverse=True):
        centre = (face[LEFT_IRIS, :2] + face[RIGHT_IRIS, :2]) / 2
        if all(np.linalg.norm(centre - (k[LEFT_IRIS, :2] + k[RIGHT_IRIS, :2]) / 2) > iod(k) for k in kept):
            kept.append(face)
    return kept


def detect_faces(rgb: np.ndarray) -> list[np.ndarray]:
    """Landmarks of every face found (up to three per pass), each (478, 3) in pixels, largest first.

    A non-square photo is also searched in overlapping square tiles, so that counting faces does not
    depend on how wide the photo is (see :func:`_tiles`).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be an (H, W, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    mesh = _mesh()
    faces = mesh.process(rgb)
    for x0, y0, side in _tiles(*rgb.shape[:2]):
        for face in mesh.process(rgb[y0:y0 + side, x0:x0 + side]):
            face[:, 0] += x0
            face[:, 1] += y0
            faces.append(face)
    return _dedupe(faces)


def head_pose(landmarks_px: np.ndarray) -> HeadPose:
    """Pose from landmark geometry: the normal of the plane through the face outline gives yaw and
    pitch, the line between the irises gives roll. No camera model is needed at photo distances."""
    oval = landmarks_px[FACE_OVAL]
    centred = oval - oval.mean(axis=0)
    normal = np.linalg.svd(centred, full_matrices=False)[2][2]
    if normal[2] > 0:  # point it at the camera (MediaPipe z is negative towards the viewer)
        normal = -normal
    yaw = float(np.degrees(np.arctan2(normal[0], -normal[2])))
    pitch = float(np.degrees(np.arctan2(-normal[1], -normal[2])))
    eye = landmarks_px[LEFT_IRIS] - landmarks_px[RIGHT_IRIS]
    roll = float(np.degrees(np.arctan2(eye[1], eye[0])))
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)


def face_box(landmarks_px: np.ndarray, image_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the landmarks, clipped to the image."""
    width, height = image_size
    x0, y0 = np.floor(landmarks_px[:, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(landmarks_px[:, :2].max(axis=0)).astype(int)
    return max(0, int(x0)), max(0, int(y0)), min(width, int(x1)), min(height, int(y1))


def sharpness_score(rgb: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Variance of the Laplacian on the face crop resampled to a fixed size, so that big and small faces
    are compared at the same scale (a small face is upsampled, which is what makes a tiny or soft
    face score low)."""
    x0, y0, x1, y1 = box
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0.0
    gray = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    interp = cv2.INTER_AREA if min(gray.shape) > SHARPNESS_SIZE else cv2.INTER_CUBIC
    crop = cv2.resize(gray, (SHARPNESS_SIZE, SHARPNESS_SIZE), interpolation=interp)
    return float(cv2.Laplacian(crop.astype(np.float64), cv2.CV_64F).var())


def measure_face(rgb: np.ndarray, landmarks_px: np.ndarray, n_faces: int = 1) -> FaceAnalysis:
    """Every measurement of one detected face, without judging it."""
    size = (rgb.shape[1], rgb.shape[0])
    box = face_box(landmarks_px, size)
    iod = float(np.linalg.norm(landmarks_px[LEFT_IRIS, :2] - landmarks_px[RIGHT_IRIS, :2]))
    return FaceAnalysis(
        landmarks_px=landmarks_px,
        image_size=size,
        box=box,
        inter_ocular_px=iod,
        pose=head_pose(landmarks_px),
        sharpness=sharpness_score(rgb, box),
        n_faces=n_faces,
    )


def analyze_face(rgb: np.ndarray, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> FaceAnalysis:
    """Detect, measure and gate the one face of an upright RGB photo; raises ``PhotoRejected``."""
    start = time.perf_counter()
    faces = detect_faces(rgb)
    detected = time.perf_counter()
    check_face_count(len(faces))
    analysis = measure_face(rgb, faces[0], n_faces=1)
    check_face(
        inter_ocular_px=analysis.inter_ocular_px,
        yaw_deg=analysis.pose.yaw,
        pitch_deg=analysis.pose.pitch,
        sharpness=analysis.sharpness,
        thresholds=thresholds,
    )
    analysis.timings_s.update(detect=detected - start, measure=time.perf_counter() - detected)
    return analysis
