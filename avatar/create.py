"""The one function the CLI and the API call: body measurements → a fitted, exported avatar.

:func:`create_avatar` chains pure stages, each usable and testable on its own:

1. :func:`complete` — predict the measurements the shopper did not give (ANSUR II completion
   model), each with its 80 % interval;
2. :func:`fit_body` — fit the body model's shape to the given values (within ISO tolerance) and to
   the completed ones (inside their interval);
3. :func:`pose_body` — pose it (``a_pose`` by default) with its feet on the floor (y = 0);
4. :func:`apply_face` — with a face photo, fit the head to it and texture the face;
5. :func:`write_files` — ``mesh.glb``, ``mesh.obj``, ``params.json`` (and ``body.smpl`` for
   SMPL-X, ``preview.png`` with a face) into one folder.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from avatar.body import export, loops, skeleton
from avatar.body.fitting import FITTABLE, BodyFitter
from avatar.body.measurements import Measurements
from avatar.body.models import BodyModel, UVMapped
from avatar.body.models import create as create_body
from avatar.completion import load_default
from avatar.types import Backend, FitResult, Interval, PoseName

if TYPE_CHECKING:
    from avatar.face.lookalike import FacePhoto

log = logging.getLogger(__name__)

FILES = {"glb": "mesh.glb", "obj": "mesh.obj", "params": "params.json", "smpl": "body.smpl"}


@dataclass(frozen=True)
class FaceInput:
    """What the face pipeline hands over: a skin colour, a texture on the body model's UV map, or
    an analysed face photo to fit the head to and texture the face from."""

    skin_rgb: tuple[int, int, int] | None = None
    texture_png: bytes | None = None
    photo: FacePhoto | None = None


@dataclass(frozen=True)
class PosedAvatar:
    """The fitted body in its final pose: vertices (V, 3) metres with the feet on y = 0, faces,
    joints (55, 3) and part labels as the body model gives them, and the shape and pose tensors."""

    vertices: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    part_labels: np.ndarray
    shape: torch.Tensor
    pose: torch.Tensor


@dataclass(frozen=True)
class FaceResult:
    """:func:`apply_face`'s output: the posed avatar with its head fitted, the face input with the
    measured skin and texture, the fit with SMPL-X head betas folded into its shape, the summary."""

    posed: PosedAvatar
    face: FaceInput
    fit: FitResult
    summary: dict[str, Any]
    head_betas: dict[str, float]


def complete(measurements: Measurements) -> dict[str, Interval]:
    """Predicted (mean, lo, hi) for every fittable measurement not given."""
    given: dict[str, Any] = dict(measurements.values)
    given["sex"] = measurements.sex
    if measurements.age_years is not None:
        given["age_years"] = measurements.age_years
    predictions = load_default().predict(given)
    return {
        n: Interval(p.mean, p.lo, p.hi)
        for n, p in predictions.items()
        if n in FITTABLE and n not in measurements.values
    }


def fit_body(
    measurements: Measurements, backend: Backend = "anny", predicted: dict[str, Interval] | None = None
) -> FitResult:
    """Fit ``backend``'s shape to the measurements (given within tolerance, completed within their
    interval)."""
    body = create_body(backend, measurements.sex)
    template = loops.template_loops(body, measurements.sex)
    return BodyFitter(body).fit(
        template, measurements.values, predicted, sex=measurements.sex, age_years=measurements.age_years
    )


def pose_body(body: BodyModel, fit: FitResult, pose: PoseName) -> tuple[PosedAvatar, FitResult]:
    """The fitted shape in ``pose``, lifted so its lowest point is on the floor; the fit records the
    pose and that lift as its translation."""
    shape = torch.tensor([fit.params.shape[n] for n in body.shape_names])[None]
    pose_values = skeleton.named_pose(pose)[None]
    with torch.no_grad():
        out = body.forward(shape, pose_values)
    vertices = out.vertices[0].double().numpy()
    floor = float(-vertices[:, 1].min())
    vertices[:, 1] += floor
    joints = out.joints[0].double().numpy()
    joints[:, 1] += floor
    pose_tuple = tuple((float(a), float(b), float(c)) for a, b, c in pose_values[0].tolist())
    params = dataclasses.replace(fit.params, pose=pose_tuple, transl=(0.0, floor, 0.0))
    posed = PosedAvatar(vertices, out.faces.numpy(), joints, out.part_labels.numpy(), shape, pose_values)
    return posed, dataclasses.replace(fit, params=params)


def apply_face(body: BodyModel, posed: PosedAvatar, fit: FitResult, face: FaceInput) -> FaceResult | None:
    """Fit the head to the face photo (None without one). Bodies with a UV map get the face texture
    and the head's local changes; others (SMPL-X) a fitted expression, head-only betas and skin tone."""
    if face.photo is None:
        return None
    from avatar.face.lookalike import apply_to_body, apply_to_smplx

    if isinstance(body, UVMapped):
        look = apply_to_body(face.photo, body, posed.shape, posed.pose, posed.vertices)
        return FaceResult(
            dataclasses.replace(posed, vertices=look.vertices),
            dataclasses.replace(face, skin_rgb=look.skin_rgb, texture_png=look.texture_png),
            fit,
            look.summary,
            {},
        )
    smplx_look = apply_to_smplx(face.photo, body, posed.shape, posed.pose, posed.vertices)
    values = smplx_look.shape[0].tolist()
    fitted = {n: float(v) for n, v in zip(body.shape_names, values, strict=True)}
    return FaceResult(
        dataclasses.replace(posed, vertices=smplx_look.vertices),
        dataclasses.replace(face, skin_rgb=smplx_look.skin_rgb),
        dataclasses.replace(fit, params=dataclasses.replace(fit.params, shape=fitted)),
        smplx_look.summary,
        smplx_look.likeness.head_betas,
    )


def write_files(
    out_dir: Path,
    body: BodyModel,
    posed: PosedAvatar,
    fit: FitResult,
    face: FaceInput | None,
    extra: dict[str, Any],
    *,
    preview: bool = False,
) -> tuple[dict[str, Path], dict[str, Any]]:
    """Write the avatar's files; returns them by kind and the params.json document."""
    out_dir.mkdir(parents=True, exist_ok=True)
    hair, extra = _look(posed, face, extra)
    files = {
        "glb": export.write_glb(out_dir / FILES["glb"], *_glb_geometry(body, posed, face), hair=hair),
        "obj": export.write_obj(out_dir / FILES["obj"], posed.vertices, posed.faces),
    }
    if body.kind == "smplx":  # the .smpl format stores SMPL-X betas only
        files["smpl"] = export.write_smpl(out_dir / FILES["smpl"], fit, num_betas=len(body.free_parameters()))
    document = export.params_document(fit, body.version, extra)
    files["params"] = export.write_params(out_dir / FILES["params"], document)
    if preview and face is not None:
        files["preview"] = _write_preview(out_dir / "preview.png", body, posed, face, hair)
    return files, document


def create_avatar(
    measurements: Measurements,
    out_dir: Path,
    *,
    backend: Backend = "anny",
    pose: PoseName = "a_pose",
    face: FaceInput | None = None,
) -> dict[str, Any]:
    """Build and write one avatar; returns a JSON-ready summary (files, measurements, timings)."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    predicted = complete(measurements)
    timings["completion_s"] = time.perf_counter() - start
    fit = fit_body(measurements, backend, predicted)
    timings["fit_s"] = fit.seconds
    start = time.perf_counter()
    body = create_body(backend, measurements.sex)
    posed, fit = pose_body(body, fit, pose)
    looked = apply_face(body, posed, fit, face) if face is not None else None
    if looked is not None:
        posed, face, fit = looked.posed, looked.face, looked.fit
    extra: dict[str, Any] = {"pose_name": pose, "age_years": measurements.age_years}
    if looked is not None and looked.head_betas:  # SMPL-X likeness: beta deltas on the head only
        extra["head_betas"] = looked.head_betas
    files, document = write_files(out_dir, body, posed, fit, face, extra, preview=looked is not None)
    timings["export_s"] = time.perf_counter() - start
    log.info("avatar written to %s (fit %.2f s)", out_dir, fit.seconds)
    return {
        "backend": backend,
        "backend_version": body.version,
        "out_dir": str(out_dir),
        "files": {k: p.name for k, p in files.items()},
        "measurements": document["measurements"],
        "timings": {k: round(v, 3) for k, v in timings.items()},
        **({"face": looked.summary} if looked is not None else {}),
    }


def _look(posed: PosedAvatar, face: FaceInput | None, extra: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The hair mesh the photo calls for (None when it was left out), and ``extra`` with its style
    and whether the texture carries the eyes, so a re-posed avatar (``avatar.render.source``) looks
    the same."""
    from avatar.face.hair_mesh import HairStyle, build_hair_mesh

    if face is None or face.photo is None:
        return None, extra
    extra = {**extra, "eyes_in_texture": face.texture_png is not None}
    style = HairStyle.from_analysis(face.photo.hair) if face.photo.hair is not None else None
    if style is None:
        return None, extra
    try:
        mesh = build_hair_mesh(posed.vertices, posed.part_labels, posed.joints, style)
    except ValueError as exc:  # a head the hair cannot sit on: leave the hair out rather than fail
        log.warning("%s; the avatar is built without hair", exc)
        return None, extra
    return mesh, {**extra, "hair": style.to_json()}


def _write_preview(path: Path, body: BodyModel, posed: PosedAvatar, face: FaceInput,
                   hair: Any = None) -> Path:
    from PIL import Image

    from avatar.render.bundle import render_bundle
    from avatar.render.mesh import Appearance, PosedBody

    r, g, b = (c / 255 for c in (face.skin_rgb or export.DEFAULT_SKIN_RGB))
    appearance = Appearance(skin_rgb=(r, g, b))
    if face.texture_png is not None and isinstance(body, UVMapped):
        rgb = np.asarray(Image.open(io.BytesIO(face.texture_png)).convert("RGB"))
        rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
        uv, uv_faces = (t.numpy() for t in body.uv)
        appearance = Appearance(skin_rgb=(r, g, b), texture=rgba, uv=uv, uv_faces=uv_faces.astype(np.int64),
                                eyes_in_texture=True)
    appearance = dataclasses.replace(appearance, hair=hair)
    pb = PosedBody(vertices=posed.vertices, faces=posed.faces.astype(np.int64), joints=posed.joints,
                   part_labels=posed.part_labels.astype(np.int64))
    Image.fromarray(render_bundle(pb, appearance).person).save(path)
    return path


def _glb_geometry(
    body: BodyModel, posed: PosedAvatar, face: FaceInput | None
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int], export.Texture | None]:
    """Geometry and material for the .glb: textured on the model's UVs when a texture is given."""
    skin = face.skin_rgb if face and face.skin_rgb else export.DEFAULT_SKIN_RGB
    if face is None or face.texture_png is None:
        return posed.vertices, posed.faces, skin, None
    if not isinstance(body, UVMapped):
        raise ValueError(f"face.texture_png: the {body.kind} backend has no UV map to lay a texture on")
    uv, uv_faces = (t.numpy() for t in body.uv)
    split_vertices, split_faces, split_uv, _ = export.split_by_uv(posed.vertices, posed.faces, uv, uv_faces)
    return split_vertices, split_faces, skin, export.Texture(face.texture_png, split_uv)
