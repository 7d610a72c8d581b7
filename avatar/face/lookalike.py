"""Face photo → look-alike, in two calls for whoever builds the avatar (``avatar.create``, API, CLI).

1. :func:`analyze_photo` — upload bytes → :class:`FacePhoto` (decoded, oriented, stripped, one face
   measured and gated, skin tone). Raises :class:`avatar.face.quality.PhotoRejected` with a stable code;
   map it to HTTP 422 / CLI exit code 2 with ``exc.body()`` as the JSON.
2. :func:`apply_to_body` — after the body fit: the photo, the Anny body backend, its fitted shape and
   pose, and the posed vertices → :class:`Lookalike`: the posed vertices with the fitted head, the
   face texture (PNG on Anny's UVs), the skin colour, and the ``face`` summary for the response.
   :func:`apply_to_smplx` is the same for an SMPL-X body (:mod:`avatar.face.smplx_likeness`: expression,
   head-only betas and the face warp fitted through the file's own landmark map; skin tone, no texture).

:func:`warm_up` moves the one-time costs (MediaPipe graph, Anny's face targets) to start-up.
Everything stays in memory; nothing of the photo is written anywhere by this module.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from avatar.face.analysis import FaceAnalysis, analyze_face
from avatar.face.correspondence import load_correspondence
from avatar.face.hair import HairAnalysis, analyze_hair
from avatar.face.likeness import (
    LikenessResult,
    camera_to_model,
    face_basis,
    fit_likeness,
    model_to_camera,
)
from avatar.face.photo import PhotoInfo, load_photo
from avatar.face.quality import DEFAULT_THRESHOLDS, Thresholds
from avatar.face.skintone import SkinTone, measure_skin_tone
from avatar.face.smplx_likeness import SmplxLikeness, fit_body_head, posed_head_change, with_expression
from avatar.face.texture import TEXTURE_PX, build_appearance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FacePhoto:
    """An accepted face photo: the stripped RGB pixels, what intake learnt, the face, its skin and
    its hair (``hair.drawn`` False when the photo cannot tell the hairstyle)."""

    rgb: np.ndarray
    info: PhotoInfo
    face: FaceAnalysis
    skin: SkinTone
    seconds: float
    hair: HairAnalysis | None = None


@dataclass(frozen=True)
class Lookalike:
    """The avatar's face: posed vertices (V, 3, SMPL-X frame, metres) with the fitted head, a texture
    PNG laid out on the body model's UVs, the skin colour for untextured exports, and the summary."""

    vertices: np.ndarray
    texture_png: bytes
    skin_rgb: tuple[int, int, int]
    likeness: LikenessResult
    summary: dict[str, Any]


def warm_up(body: Any | None = None) -> None:
    """Build MediaPipe's graph and read Anny's face targets now (about 1.5 s) rather than on the first
    request; ``body`` is the Anny backend whose vertex indexing the targets follow (default Anny if None)."""
    from avatar.face.analysis import _mesh
    from avatar.face.hair import _segmenter
    from avatar.face.likeness import default_anny

    _mesh()
    _segmenter()
    model: Any = body.model if body is not None else default_anny()
    face_basis(tuple(int(i) for i in model.base_mesh_vertex_indices.tolist()))
    load_correspondence()


def analyze_photo(data: bytes, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> FacePhoto:
    """Intake, face analysis and gates, skin tone, hair. Raises ``PhotoRejected``."""
    start = time.perf_counter()
    rgb, info = load_photo(data, thresholds)
    face = analyze_face(rgb, thresholds)
    skin = measure_skin_tone(rgb, face.landmarks_px)
    hair_start = time.perf_counter()
    hair = analyze_hair(rgb, face, skin)
    face.timings_s["hair"] = time.perf_counter() - hair_start
    return FacePhoto(rgb=rgb, info=info, face=face, skin=skin, seconds=time.perf_counter() - start, hair=hair)


@dataclass(frozen=True)
class SmplxLookalike:
    """An SMPL-X avatar's face: the posed vertices with the fitted head, the shape (1, P) with the
    fitted expression (to record in params.json / body.smpl), the skin colour and the summary."""

    vertices: np.ndarray
    shape: torch.Tensor
    skin_rgb: tuple[int, int, int]
    likeness: SmplxLikeness
    summary: dict[str, Any]


def face_summary(photo: FacePhoto, likeness: LikenessResult) -> dict[str, Any]:
    """The response's ``face`` object: head pose, skin tone and the likeness fit's landmark errors
    (either backend), without landmarks (biometric, not needed downstream)."""
    summary = {
        "pose": photo.face.summary()["pose"],
        "skin_tone": photo.skin.summary(),
        "landmark_error_before": round(likeness.landmark_error_before, 4),
        "landmark_error_after": round(likeness.landmark_error_after, 4),
        "landmark_error_heldout": round(likeness.landmark_error_heldout, 4),
    }
    if photo.hair is not None:
        summary["hair_drawn"] = photo.hair.drawn
        summary["hair"] = photo.hair.summary()
    return summary


def posed_offsets(model: Any, pose_parameters: torch.Tensor, coefficients: torch.Tensor,
                  offsets: np.ndarray) -> np.ndarray:
    """Rest-pose vertex offsets (V, 3, Anny frame) carried into the pose by Anny's own skinning
    (each offset turned by its vertex's blended bone rotation; the translations cancel)."""
    with torch.no_grad():
        rest = model.get_rest_model(coefficients)
        transforms, _ = model.get_bone_transforms(pose_parameters, rest["rest_bone_poses"])
        off = torch.as_tensor(offsets, dtype=rest["rest_vertices"].dtype)[None]
        moved = model.get_skinned_vertices(rest["rest_vertices"] + off, transforms)
        still = model.get_skinned_vertices(rest["rest_vertices"], transforms)
    return np.asarray((moved - still)[0].double().numpy())


def apply_to_body(photo: FacePhoto, body: Any, shape: torch.Tensor, pose: torch.Tensor,
                  posed_vertices: np.ndarray, texture_px: int = TEXTURE_PX) -> Lookalike:
    """Fit the head of an Anny body (``avatar.body.models.anny_backend.AnnyBody``) to the photo.

    ``shape`` (1, P) and ``pose`` (1, 55, 3) are what the body was posed with, ``posed_vertices``
    (V, 3) the posed mesh in the SMPL-X frame (floor offset included: only differences are added).
    """
    if getattr(body, "kind", None) != "anny":
        kind = getattr(body, "kind", body)
        raise ValueError(f"body: likeness fitting needs the 'anny' backend, got {kind!r}")
    start = time.perf_counter()
    model = body.model
    with torch.no_grad():
        rest_cam = body.measurement_vertices(shape)[0].double().numpy()
    rest = camera_to_model(rest_cam)
    bmi = tuple(int(i) for i in model.base_mesh_vertex_indices.tolist())
    likeness = fit_likeness(photo.face.normalized_landmarks(), rest, model.faces.numpy(), face_basis(bmi),
                            load_correspondence())
    fitted = time.perf_counter()

    n = len(body.phenotype_names)
    coefficients = model._get_phenotype_blendshape_coefficients(
        shape[:, :n].to(body.dtype), shape[:, n:].to(body.dtype), shape.new_zeros(1, 0).to(body.dtype))
    moved = posed_offsets(model, body.bridge.to_anny(pose.to(body.dtype)), coefficients, likeness.offsets)
    vertices = posed_vertices + model_to_camera(moved)

    uv = model.texture_coordinates.double().numpy()
    face_uv = model.face_texture_coordinate_indices.numpy()
    labels = np.asarray(body.part_labels)
    eyeballs = {j: np.flatnonzero(labels == j) for j in (23, 24)}  # SMPL-X left and right eye joints
    look = build_appearance(photo.rgb, photo.face, likeness, photo.skin, rest + likeness.offsets,
                            model.faces.numpy(), uv, face_uv, size=texture_px,
                            hair_mask=photo.hair.mask if photo.hair is not None else None, eyeballs=eyeballs)
    texture = look.texture
    buf = io.BytesIO()
    Image.fromarray(texture).save(buf, format="PNG")
    done = time.perf_counter()
    summary = face_summary(photo, likeness)
    summary["skin_tone"]["body_srgb_hex"] = "#{:02x}{:02x}{:02x}".format(*look.skin_srgb)
    summary["eyes"] = look.eyes
    summary["seam_delta_e"] = round(look.seam_delta_e, 2)
    summary["timings"] = {"photo_s": round(photo.seconds, 3), "likeness_s": round(fitted - start, 3),
                          "texture_s": round(done - fitted, 3)}
    log.info("look-alike: landmark error %.4f → %.4f IOD, %.2f s", likeness.landmark_error_before,
             likeness.landmark_error_after, done - start)
    return Lookalike(vertices=vertices, texture_png=buf.getvalue(), skin_rgb=look.skin_srgb,
                     likeness=likeness, summary=summary)


def apply_to_smplx(photo: FacePhoto, body: Any, shape: torch.Tensor, pose: torch.Tensor,
                   posed_vertices: np.ndarray) -> SmplxLookalike:
    """Fit the head of an SMPL-X body (``avatar.body.models.smplx_backend.SmplxBody``) to the photo.

    ``shape`` (1, P) and ``pose`` (1, 55, 3) are what the body was posed with, ``posed_vertices``
    (V, 3) that posed mesh (floor offset included: only differences are added). ``body`` must be
    loaded from the ``FITROOM_SMPLX_DIR`` file of its sex: that file's landmark map is built on its
    first use and cached.
    """
    from avatar.body.models.smplx_backend import smplx_file

    if getattr(body, "kind", None) != "smplx":
        kind = getattr(body, "kind", body)
        raise ValueError(f"body: SMPL-X likeness fitting needs the 'smplx' backend, got {kind!r}")
    start = time.perf_counter()
    likeness = fit_body_head(photo.face.normalized_landmarks(), body, shape, smplx_file(body.sex))
    vertices = posed_vertices + posed_head_change(body, shape, pose, likeness)
    done = time.perf_counter()
    summary = face_summary(photo, likeness.fit)
    summary["timings"] = {"photo_s": round(photo.seconds, 3), "likeness_s": round(done - start, 3)}
    log.info("SMPL-X look-alike: landmark error %.4f → %.4f IOD (held out %.4f), %.2f s",
             likeness.fit.landmark_error_before, likeness.fit.landmark_error_after,
             likeness.fit.landmark_error_heldout, done - start)
    return SmplxLookalike(vertices=vertices, shape=with_expression(shape, body.shape_names, likeness),
                          skin_rgb=photo.skin.srgb, likeness=likeness, summary=summary)
