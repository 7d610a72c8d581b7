"""Rebuild a stored avatar for rendering: its posed body from ``params.json``, its look from ``mesh.glb``.

An avatar folder (written by :func:`avatar.create.create_avatar`) holds ``params.json`` (backend,
sex, named shape parameters, pose) and ``mesh.glb`` (the skin-tone material, or the skin-and-face
texture laid out on the body model's UV map). The body is re-posed through the same backend so the
render sees the SMPL-X joints and part labels, not just the exported triangles.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avatar.body import skeleton
from avatar.body.export import check_params
from avatar.body.models import UVMapped
from avatar.render.mesh import Appearance, PosedBody
from avatar.render.parts import HEAD, JAW, L_EYE, R_EYE

log = logging.getLogger(__name__)

NAMED_POSES: tuple[str, ...] = ("a_pose", "t_pose", "neutral")
POSE_HELP = "a_pose (default), t_pose, neutral, 'stored' (the pose in params.json) or a JSON file of 55x3 " \
    "SMPL-X axis-angle values (radians)"


@dataclass(frozen=True)
class AvatarScene:
    """What the bundle needs from a stored avatar."""

    body: PosedBody
    appearance: Appearance
    params_path: Path


def read_params(folder: Path) -> dict[str, Any]:
    """The avatar's ``params.json``; FileNotFoundError / ValueError name the file and what is wrong."""
    path = folder / "params.json"
    if not path.is_file():
        raise FileNotFoundError(f"avatar: {folder} has no params.json (not an avatar folder)")
    try:
        doc = json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"avatar: {path} is not valid JSON ({exc})") from exc
    return check_params(doc, path)


def resolve_pose(pose: str, params: dict[str, Any]) -> torch.Tensor:
    """(55, 3) SMPL-X axis-angle pose from a name, ``stored``, or a JSON file of 55 triples."""
    if pose in NAMED_POSES:
        return skeleton.named_pose(pose)  # type: ignore[arg-type]
    if pose == "stored":
        values: Any = params.get("pose", {}).get("values")
        source = "params.json pose.values"
    else:
        path = Path(pose)
        if not path.is_file():
            raise ValueError(f"pose must be {POSE_HELP}; got {pose!r}")
        try:
            values = json.loads(path.read_text())
        except ValueError as exc:
            raise ValueError(f"pose: {path} is not valid JSON ({exc})") from exc
        values = values.get("values", values) if isinstance(values, dict) else values
        source = str(path)
    array = np.asarray(values, dtype=np.float64) if values is not None else np.zeros(0)
    if array.shape != (skeleton.NUM_JOINTS, 3) or not np.isfinite(array).all():
        raise ValueError(f"pose: {source} must hold {skeleton.NUM_JOINTS} x 3 finite axis-angle values, "
                         f"got shape {array.shape}")
    if np.abs(array).max() > 2 * np.pi:
        raise ValueError(f"pose: {source} has an angle beyond 2π radians (limit {2 * np.pi:.4f})")
    return torch.tensor(array, dtype=torch.float32)


def appearance_from_glb(path: Path, model: Any) -> Appearance:
    """Skin colour or texture from the avatar's ``mesh.glb`` (defaults when the file is absent)."""
    if not path.is_file():
        return Appearance()
    import io

    import pygltflib
    from PIL import Image

    gltf = pygltflib.GLTF2().load(str(path))
    material = gltf.materials[0] if gltf.materials else None
    pbr = material.pbrMetallicRoughness if material else None
    if pbr is not None and pbr.baseColorTexture is not None and isinstance(model, UVMapped):
        image = gltf.images[gltf.textures[pbr.baseColorTexture.index].source]
        view = gltf.bufferViews[image.bufferView]
        blob = gltf.binary_blob()[view.byteOffset or 0:(view.byteOffset or 0) + view.byteLength]
        rgba = np.asarray(Image.open(io.BytesIO(blob)).convert("RGBA"))
        uv, uv_faces = (t.detach().cpu().numpy() for t in model.uv)
        mean_rgb = rgba[..., :3].reshape(-1, 3).mean(axis=0) / 255.0
        return Appearance(skin_rgb=(float(mean_rgb[0]), float(mean_rgb[1]), float(mean_rgb[2])), texture=rgba,
                          uv=uv.astype(np.float32), uv_faces=uv_faces.astype(np.int64))
    if pbr is not None and pbr.baseColorFactor is not None:
        factor = [float(c) for c in pbr.baseColorFactor[:3]]
        if max(factor) > 1.0:  # some writers store 0-255
            factor = [c / 255.0 for c in factor]
        return Appearance(skin_rgb=(factor[0], factor[1], factor[2]))
    return Appearance()


def load_avatar(folder: Path, pose: str = "a_pose") -> AvatarScene:
    """Rebuild the avatar in ``folder`` in ``pose`` (see :data:`POSE_HELP`)."""
    from avatar.body.models import create as create_body

    params = read_params(folder)
    backend, sex = params["backend"], params.get("sex", "unspecified")
    model = create_body(backend, sex)
    values = dict(params["parameters"])
    unknown = sorted(set(values) - set(model.shape_names))
    if unknown:
        raise ValueError(f"avatar: params.json parameters {unknown} are not {backend} shape parameters")
    default = model.default_shape(sex)
    shape = torch.tensor([float(values.get(n, default[i])) for i, n in enumerate(model.shape_names)])
    pose_values = resolve_pose(pose, params)
    with torch.no_grad():
        output = model.forward(shape[None], pose_values[None])
    log.info("avatar %s re-posed (%s, %s)", folder.name, backend, pose)
    body = _with_fitted_head(PosedBody.from_output(output), folder / "mesh.glb", model, shape, params)
    appearance = appearance_from_glb(folder / "mesh.glb", model)
    appearance = dataclasses.replace(appearance, eyes_in_texture=bool(params.get("eyes_in_texture", False)),
                                     hair=_hair(body, params))
    return AvatarScene(body, appearance, folder / "params.json")


def _with_fitted_head(body: PosedBody, glb: Path, model: Any, shape: torch.Tensor,
                      params: dict[str, Any]) -> PosedBody:
    """``body`` with the head the photo fitted: ``params.json`` keeps the body's shape, not the face
    fit (local changes, warp, SMPL-X head betas), so the fitted vertices are read back from the
    ``mesh.glb`` body node, their offsets from the same shape in the stored pose are taken, turned by
    the head's rotation from the stored pose to this one (Procrustes on the head) and added. Without
    that, a face texture would sit on a head it was not made for."""
    if not glb.is_file() or "pose" not in params:
        return body
    import trimesh

    scene: Any = trimesh.load(glb, force="scene", process=False)
    node = scene.geometry.get("body") or next(iter(scene.geometry.values()))
    stored_pose = torch.tensor(params["pose"]["values"], dtype=torch.float32)
    with torch.no_grad():
        stored = PosedBody.from_output(model.forward(shape[None], stored_pose[None]))
    fitted = np.asarray(node.vertices, np.float64) - np.asarray(params.get("translation_m", [0, 0, 0]))
    if len(fitted) != len(stored.vertices):
        if not hasattr(model, "uv"):
            return body
        from avatar.body.export import split_by_uv

        uv, uv_faces = (t.detach().cpu().numpy() for t in model.uv)
        source = split_by_uv(stored.vertices, stored.faces, uv, uv_faces)[3]
        if len(source) != len(fitted):
            log.warning("avatar: %s does not match the body model's vertices; head not fitted", glb)
            return body
        by_vertex = stored.vertices.copy()
        by_vertex[source] = fitted
        fitted = by_vertex
    offsets = fitted - stored.vertices
    head = np.isin(body.part_labels, (HEAD, JAW, L_EYE, R_EYE))
    a = stored.vertices[head] - stored.vertices[head].mean(axis=0)
    b = body.vertices[head] - body.vertices[head].mean(axis=0)
    u, _, vt = np.linalg.svd(a.T @ b)
    rotation = (u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt).T  # b ≈ a @ rotation.T
    return dataclasses.replace(body, vertices=body.vertices + offsets @ rotation.T)


def _hair(body: PosedBody, params: dict[str, Any]) -> Any:
    """The avatar's hair (``params.json`` ``hair``, written when the photo showed it) grown on the
    re-posed body, or None."""
    if not params.get("hair"):
        return None
    from avatar.face.hair_mesh import HairStyle, build_hair_mesh

    return build_hair_mesh(body.vertices, body.part_labels, body.joints, HairStyle.from_json(params["hair"]))
