"""The one function the CLI and the API call: body measurements → a fitted, exported avatar.

Steps: complete the measurements the shopper did not give (ANSUR II completion model, with an
interval) → fit the body model's shape to the given values exactly and to the completed ones within
their interval → pose it (``a_pose`` by default) with its feet on the floor (y = 0) → write
``mesh.glb``, ``mesh.obj``, ``params.json`` (and ``body.smpl`` for SMPL-X) into one folder.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avatar.body import export, loops, skeleton
from avatar.body.fitting import FITTABLE, BodyFitter
from avatar.body.measurements import Measurements
from avatar.body.models import create as create_body
from avatar.types import Backend, FitResult, PoseName

log = logging.getLogger(__name__)

FILES = {"glb": "mesh.glb", "obj": "mesh.obj", "params": "params.json", "smpl": "body.smpl"}


@dataclass(frozen=True)
class FaceInput:
    """What the face pipeline hands over: a skin colour, and optionally a texture on Anny's UVs.

    ``texture_png`` is an image laid out on the body model's own UV map; ``landmarks`` are the
    analysed face landmarks, kept for likeness fitting (not stored).
    """

    skin_rgb: tuple[int, int, int] | None = None
    texture_png: bytes | None = None
    landmarks: Any = None
    photo: Any = None  # avatar.face.lookalike.FacePhoto: fit the head and texture the face from it


@lru_cache(maxsize=1)
def _completion_model() -> Any:
    """The default completion model, loaded once per process (None when unavailable)."""
    try:
        from avatar.completion.model import load_default
    except ImportError:  # the completion model is optional for the body pipeline
        log.warning("avatar.completion.model is unavailable: fitting only the given measurements")
        return None
    return load_default()


def complete(measurements: Measurements) -> dict[str, tuple[float, float, float]]:
    """Predicted (mean, lo, hi) for every fittable measurement not given (empty if no model)."""
    model = _completion_model()
    if model is None:
        return {}
    given: dict[str, Any] = dict(measurements.values)
    given["sex"] = measurements.sex
    if measurements.age_years is not None:
        given["age_years"] = measurements.age_years
    predictions = model.predict(given)
    return {
        n: (p.mean, p.lo, p.hi)
        for n, p in predictions.items()
        if n in FITTABLE and n not in measurements.values
    }


def fit_body(
    measurements: Measurements,
    backend: Backend = "anny",
    predicted: dict[str, tuple[float, float, float]] | None = None,
) -> FitResult:
    """Fit ``backend``'s shape to the measurements (given exactly, completed within their interval)."""
    body = create_body(backend, measurements.sex)
    template = loops.template_loops(body, measurements.sex)
    return BodyFitter(body).fit(
        template, measurements.values, predicted, sex=measurements.sex, age_years=measurements.age_years
    )


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
    shape = torch.tensor([fit.params.shape[n] for n in body.shape_names])[None]
    pose_values = skeleton.named_pose(pose)
    with torch.no_grad():
        posed = body.forward(shape, pose_values[None])
    vertices = posed.vertices[0].double().numpy()
    floor = float(-vertices[:, 1].min())
    vertices[:, 1] += floor
    fit = dataclasses.replace(
        fit,
        params=dataclasses.replace(
            fit.params,
            pose=tuple(tuple(float(x) for x in j) for j in pose_values.tolist()),  # type: ignore[misc]
            transl=(0.0, floor, 0.0),
        ),
    )
    faces = posed.faces.numpy()
    face_summary = None
    head_betas: dict[str, float] = {}
    if face is not None and face.photo is not None:
        from avatar.face.lookalike import apply_to_body, apply_to_smplx

        if body.kind == "anny":
            look = apply_to_body(face.photo, body, shape, pose_values[None], vertices)
            vertices = look.vertices
            face = dataclasses.replace(face, skin_rgb=look.skin_rgb, texture_png=look.texture_png)
            face_summary = look.summary
        else:  # SMPL-X: fitted expression (kept in the shape) and head-only betas; skin tone, no texture
            smplx_look = apply_to_smplx(face.photo, body, shape, pose_values[None], vertices)
            vertices = smplx_look.vertices
            face = dataclasses.replace(face, skin_rgb=smplx_look.skin_rgb)
            face_summary = smplx_look.summary
            values = smplx_look.shape[0].tolist()
            fitted = {n: float(v) for n, v in zip(body.shape_names, values, strict=True)}
            fit = dataclasses.replace(fit, params=dataclasses.replace(fit.params, shape=fitted))
            head_betas = smplx_look.likeness.head_betas
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "glb": export.write_glb(out_dir / FILES["glb"], *_glb_geometry(body, vertices, faces, face)),
        "obj": export.write_obj(out_dir / FILES["obj"], vertices, faces),
    }
    if backend == "smplx":
        files["smpl"] = export.write_smpl(out_dir / FILES["smpl"], fit, num_betas=len(body.free_parameters()))
    extra: dict[str, Any] = {"pose_name": pose, "age_years": measurements.age_years}
    if head_betas:  # SMPL-X likeness: beta deltas applied to the head only (avatar.face.smplx_likeness)
        extra["head_betas"] = head_betas
    document = export.params_document(fit, body.version, extra)
    files["params"] = export.write_params(out_dir / FILES["params"], document)
    if face is not None and face_summary is not None:
        files["preview"] = _write_preview(out_dir / "preview.png", body, posed, vertices, floor, face)
    timings["export_s"] = time.perf_counter() - start
    log.info("avatar written to %s (fit %.2f s)", out_dir, fit.seconds)
    return {
        "backend": backend,
        "backend_version": body.version,
        "out_dir": str(out_dir),
        "files": {k: p.name for k, p in files.items()},
        "measurements": document["measurements"],
        "timings": {k: round(v, 3) for k, v in timings.items()},
        **({"face": face_summary} if face_summary is not None else {}),
    }


def _write_preview(path: Path, body: Any, posed: Any, vertices: np.ndarray, floor: float,
                   face: FaceInput) -> Path:
    import io

    from PIL import Image

    from avatar.render.bundle import render_bundle
    from avatar.render.mesh import Appearance, PosedBody

    r, g, b = (c / 255 for c in (face.skin_rgb or export.DEFAULT_SKIN_RGB))
    appearance = Appearance(skin_rgb=(r, g, b))
    if face.texture_png is not None:
        rgb = np.asarray(Image.open(io.BytesIO(face.texture_png)).convert("RGB"))
        rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
        uv, uv_faces = (t.numpy() for t in body.uv)
        appearance = Appearance(skin_rgb=(r, g, b), texture=rgba, uv=uv, uv_faces=uv_faces.astype(np.int64))
    joints = posed.joints[0].double().numpy()
    joints[:, 1] += floor
    pb = PosedBody(vertices=vertices, faces=posed.faces.numpy().astype(np.int64), joints=joints,
                   part_labels=posed.part_labels.numpy().astype(np.int64))
    bundle = render_bundle(pb, appearance)
    Image.fromarray(bundle.person).save(path)
    return path


def _glb_geometry(
    body: Any, vertices: np.ndarray, faces: np.ndarray, face: FaceInput | None
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int], export.Texture | None]:
    """Geometry and material for the .glb: textured on the model's UVs when a texture is given."""
    skin = face.skin_rgb if face and face.skin_rgb else export.DEFAULT_SKIN_RGB
    if face is None or face.texture_png is None:
        return vertices, faces, skin, None
    if not hasattr(body, "uv"):
        raise ValueError(f"face.texture_png: the {body.kind} backend has no UV map to lay a texture on")
    uv, uv_faces = (t.numpy() for t in body.uv)
    split_vertices, split_faces, split_uv, _ = export.split_by_uv(vertices, faces, uv, uv_faces)
    return split_vertices, split_faces, skin, export.Texture(face.texture_png, split_uv)
