"""Write a fitted body to the files shoppers and downstream tools open.

* ``.glb`` — glTF 2.0 binary with a skin-coloured PBR material (or a texture image with UVs, the
  hook the face pipeline fills in via :class:`Texture`);
* ``.obj`` — plain geometry for any 3D tool;
* ``.smpl`` — SMPL-X parameters through ``smplcodec`` (SMPL-X bodies only: the format stores betas);
* ``params.json`` — backend and version, parameters, pose, and each measurement as target /
  predicted / achieved, so a body can be rebuilt and audited.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avatar.types import FitResult, measurement_records

log = logging.getLogger(__name__)

DEFAULT_SKIN_RGB = (224, 172, 150)  # a mid, warm skin tone; the face pipeline replaces it
PARAMS_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Texture:
    """A texture for the ``.glb``: PNG/JPEG bytes and one UV (V, 2) per exported vertex."""

    image: bytes
    uv: np.ndarray


def split_by_uv(
    vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, uv_faces: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """glTF wants one UV per vertex: duplicate each vertex once per distinct UV it carries.

    Returns (vertices, faces, per-vertex uv, source vertex index of each new vertex).
    """
    pairs = np.stack([faces.reshape(-1), uv_faces.reshape(-1)], 1)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    return vertices[unique[:, 0]], inverse.reshape(faces.shape), uv[unique[:, 1]], unique[:, 0]


def write_glb(
    path: Path,
    vertices: np.ndarray,
    faces: np.ndarray,
    skin_rgb: tuple[int, int, int] = DEFAULT_SKIN_RGB,
    texture: Texture | None = None,
    hair: Any = None,
) -> Path:
    """(V, 3) metres, Y up, (F, 3) → a glTF 2.0 binary with a skin material or a texture.

    ``hair`` (``avatar.face.hair_mesh.HairMesh``) becomes a node and material of its own ("hair"),
    so viewers can switch it off; the body stays the first node and material.
    """
    import trimesh
    from PIL import Image

    if texture is not None:
        if texture.uv.shape != (len(vertices), 2):
            raise ValueError(f"texture.uv: expected ({len(vertices)}, 2), got {texture.uv.shape}")
        material = trimesh.visual.material.PBRMaterial(
            baseColorTexture=Image.open(io.BytesIO(texture.image)), metallicFactor=0.0, roughnessFactor=0.8
        )
        visual: Any = trimesh.visual.TextureVisuals(uv=texture.uv, material=material)
    else:
        material = trimesh.visual.material.PBRMaterial(
            baseColorFactor=[*skin_rgb, 255], metallicFactor=0.0, roughnessFactor=0.8, name="skin"
        )
        visual = trimesh.visual.TextureVisuals(material=material)
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.Trimesh(vertices=vertices, faces=faces, visual=visual, process=False),
                       node_name="body", geom_name="body")
    if hair is not None:
        from avatar.face.hair_mesh import hair_material

        hair_visual = trimesh.visual.TextureVisuals(uv=hair.uv, material=hair_material(hair.srgb))
        scene.add_geometry(trimesh.Trimesh(vertices=hair.vertices, faces=hair.faces, visual=hair_visual,
                                           process=False), node_name="hair", geom_name="hair")
    path.write_bytes(trimesh.exchange.gltf.export_glb(scene))
    return path


def write_obj(path: Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """(V, 3), (F, 3) → a Wavefront OBJ (geometry only, 1-based indices)."""
    with path.open("w") as f:
        f.write("# fitroom avatar, metres, Y up\n")
        np.savetxt(f, vertices, fmt="v %.6f %.6f %.6f")
        np.savetxt(f, faces + 1, fmt="f %d %d %d")
    return path


def write_smpl(path: Path, fit: FitResult, num_betas: int) -> Path:
    """An SMPL-X ``.smpl`` file (betas, expression, pose) through smplcodec."""
    from smplcodec import SMPLCodec, SMPLGender, SMPLVersion

    if fit.params.backend != "smplx":
        raise ValueError(f"backend: .smpl stores SMPL-X parameters, not {fit.params.backend!r} ones")
    values = list(fit.params.shape.values())
    betas = np.array(values[:num_betas], dtype=np.float32)
    expression = np.array(values[num_betas:], dtype=np.float32)[None]
    pose = np.array(fit.params.pose, dtype=np.float32)[None]  # (1, 55, 3)
    codec = SMPLCodec(
        smpl_version=SMPLVersion.SMPLX,
        gender=SMPLGender.from_string({"unspecified": "neutral"}.get(fit.params.sex, fit.params.sex)),
        shape_parameters=betas,
        frame_count=1,
        frame_rate=30.0,
        body_translation=np.array([fit.params.transl], dtype=np.float32),
        body_pose=pose[:, :22],
        head_pose=pose[:, 22:25],
        left_hand_pose=pose[:, 25:40],
        right_hand_pose=pose[:, 40:55],
        expression_parameters=expression if expression.size else None,
    )
    codec.write(str(path))
    return path


def params_document(fit: FitResult, version: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The params.json content: everything needed to rebuild and audit the body."""
    measurements = {n: r.as_dict() for n, r in measurement_records(fit).items()}
    return {
        "schema_version": PARAMS_SCHEMA_VERSION,
        "backend": fit.params.backend,
        "backend_version": version,
        "sex": fit.params.sex,
        "parameters": fit.params.shape,
        "pose": {"convention": "smplx-55-axis-angle", "values": [list(j) for j in fit.params.pose]},
        "translation_m": list(fit.params.transl),
        "frame": "metres, Y up, +Z forward, +X body left",
        "measurements": measurements,
        "fit": {"iterations": fit.iterations, "seconds": round(fit.seconds, 4)},
        **(dict(extra) if extra else {}),
    }


def check_params(document: Mapping[str, Any], source: object) -> dict[str, Any]:
    """``document`` if it is a params.json this code can read (its ``schema_version`` and the
    fields a reader needs), else a ValueError naming ``source`` and what is wrong."""
    version = document.get("schema_version")
    if version != PARAMS_SCHEMA_VERSION:
        raise ValueError(
            f"avatar: {source} has schema_version {version!r}; this version reads {PARAMS_SCHEMA_VERSION}"
        )
    missing = [k for k in ("backend", "parameters", "measurements") if k not in document]
    if missing:
        raise ValueError(f"avatar: {source} lacks the fields {missing}")
    return dict(document)


def write_params(path: Path, document: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return path
