"""Identity measure: does the avatar's head look like the photo's person to a face-recognition model?

For each photo: build the look-alike on the default Anny body, render its head at yaw 0° and ±20°
(textured, with the hair mesh when the photo's hair was drawn) and at 0° untextured and bald (the
geometry alone; :mod:`avatar.face.headview`), and compare each render with the photo
by the distance between dlib ResNet face embeddings (dlib's same-person threshold is 0.6). Textured
frontal renders flatter any geometry (the photo itself is painted on), so the ±20° and untextured
distances are the honest ones; all are reported. The hair-silhouette IoU compares the photo's hair
mask with the frontal render's, both aligned on the eyes (:func:`avatar.face.hair.hair_iou`).

dlib and its models are an evaluation-only extra (``pip install -e '.[eval]'``: ``dlib-bin`` under
the Boost licence, ``face_recognition_models`` whose ResNet and 5-point models are CC0); the service
never imports this module. Faces are located with MediaPipe (which also finds them on renders) and
aligned with dlib's 5-point model.
"""

from __future__ import annotations

import io
import logging
import statistics
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from avatar.face.analysis import detect_faces
from avatar.face.hair import hair_iou
from avatar.face.hair_mesh import HairStyle, build_hair_mesh
from avatar.face.headview import render_head
from avatar.face.quality import PhotoRejected
from avatar.render.mesh import Appearance, PosedBody
from avatar.render.parts import L_EYE, R_EYE

log = logging.getLogger(__name__)

SAME_PERSON = 0.6  # dlib's threshold on the embedding distance
VIEWS = (("yaw0", 0.0, True), ("yaw20", 20.0, True), ("yaw-20", -20.0, True), ("yaw0_untextured", 0.0, False))
INSTALL_HINT = "pip install -c constraints.txt -e '.[eval]'  (dlib-bin and face_recognition_models)"
NUMERIC_KEYS = ("landmark_error_before", "landmark_error_after", "landmark_error_heldout", "hair_iou",
                "seconds")


class IdentityModelMissing(RuntimeError):
    """dlib or its face models are not installed; the message says how to install them."""


@dataclass(frozen=True)
class _Dlib:
    shape: Any
    encoder: Any
    rectangle: Any


@lru_cache(maxsize=1)
def _dlib() -> _Dlib:
    import importlib.util

    # The models' package is located without importing it: its __init__ needs pkg_resources.
    spec = importlib.util.find_spec("face_recognition_models")
    try:
        import dlib
    except ImportError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise IdentityModelMissing(f"the identity measure needs dlib and its face models: {INSTALL_HINT}")
    models = Path(list(spec.submodule_search_locations)[0]) / "models"
    return _Dlib(dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat")),
                 dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat")),
                 dlib.rectangle)


def embedding(rgb: np.ndarray) -> np.ndarray | None:
    """The 128-d dlib ResNet embedding of the largest face in ``rgb`` (H, W, 3 uint8), None if no face."""
    faces = detect_faces(np.ascontiguousarray(rgb))
    if not faces:
        return None
    lib = _dlib()
    x0, y0 = faces[0][:, :2].min(axis=0)
    x1, y1 = faces[0][:, :2].max(axis=0)
    box = lib.rectangle(int(x0), int(y0), int(x1), int(y1))
    shape = lib.shape(np.ascontiguousarray(rgb), box)
    return np.asarray(lib.encoder.compute_face_descriptor(np.ascontiguousarray(rgb), shape, 1))


def _distance(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    return None if a is None or b is None else round(float(np.linalg.norm(a - b)), 4)


def evaluate_photo(path: Path, body: Any) -> dict[str, Any]:
    """One row of the report for the photo at ``path`` on the Anny backend ``body``; a refused photo
    gives ``{"photo", "error"}`` with the refusal's code."""
    from avatar.body import skeleton
    from avatar.face.lookalike import analyze_photo, apply_to_body

    start = time.perf_counter()
    try:
        photo = analyze_photo(path.read_bytes())
    except PhotoRejected as exc:
        return {"photo": path.name, "error": exc.code}
    shape = body.default_shape("unspecified")[None]
    pose = skeleton.named_pose("a_pose")[None]
    with torch.no_grad():
        posed = PosedBody.from_output(body.forward(shape, pose))
    look = apply_to_body(photo, body, shape, pose, posed.vertices)
    seconds = time.perf_counter() - start
    head = PosedBody(vertices=look.vertices, faces=posed.faces, joints=posed.joints,
                     part_labels=posed.part_labels)
    skin = tuple(c / 255 for c in look.skin_rgb)
    rgb = np.asarray(Image.open(io.BytesIO(look.texture_png)).convert("RGB"))
    uv, uv_faces = (t.numpy() for t in body.uv)
    style = HairStyle.from_analysis(photo.hair) if photo.hair is not None else None
    hair = build_hair_mesh(head.vertices, head.part_labels, head.joints, style) if style else None
    textured = Appearance(skin_rgb=skin, texture=np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]),  # type: ignore[arg-type]
                          uv=uv, uv_faces=uv_faces.astype(np.int64), hair=hair, eyes_in_texture=True)
    plain = Appearance(skin_rgb=skin)  # type: ignore[arg-type]
    reference = embedding(photo.rgb)
    views = {name: render_head(head, textured if tex else plain, yaw) for name, yaw, tex in VIEWS}
    distances = {name: _distance(reference, embedding(view.buffers.color)) for name, view in views.items()}
    iou = None
    if hair is not None and photo.hair is not None:
        front = views["yaw0"]
        eyes, _ = front.camera.project(head.joints[[R_EYE, L_EYE]])  # image left, then image right
        iou = round(hair_iou(photo.hair.mask, photo.hair.eyes_px, front.buffers.hair, eyes), 4)
    return {
        "photo": path.name,
        "landmark_error_before": round(look.likeness.landmark_error_before, 4),
        "landmark_error_after": round(look.likeness.landmark_error_after, 4),
        "landmark_error_heldout": round(look.likeness.landmark_error_heldout, 4),
        "identity_distance": distances,
        "hair_drawn": hair is not None,
        "hair_iou": iou,
        "seconds": round(seconds, 3),
    }


def _median(values: list[Any]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(statistics.median(kept), 4) if kept else None


def evaluate_photos(paths: list[Path]) -> dict[str, Any]:
    """``{"photos": [row, …], "median": {…}}`` over ``paths`` (medians skip refused photos and
    renders where no face was found)."""
    from avatar.body.models import create

    _dlib()  # fail before any work when the extra is missing
    body = create("anny")
    rows = [evaluate_photo(p, body) for p in paths]
    done = [r for r in rows if "error" not in r]
    median: dict[str, Any] = {k: _median([r[k] for r in done]) for k in NUMERIC_KEYS}
    median["identity_distance"] = {name: _median([r["identity_distance"][name] for r in done])
                                   for name, _, _ in VIEWS}
    median["below_threshold_share"] = {
        name: round(sum(1 for r in done if (r["identity_distance"][name] or 9) < SAME_PERSON)
                    / len(done), 3) if done else None for name, _, _ in VIEWS}
    return {"photos": rows, "median": median}
