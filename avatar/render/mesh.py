"""Turn a posed body into the triangle soup the renderer draws, with its labels and appearance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.render.parts import FaceParts, label_faces
from avatar.render.renderer import RenderMesh

DEFAULT_SKIN_RGB = (0.80, 0.62, 0.52)  # used only when the avatar records no measured skin tone


@dataclass(frozen=True)
class PosedBody:
    """One posed body in the renderer's frame: metres, Y up, facing +Z, X towards the body's left.

    Attributes:
        vertices: (V, 3) posed vertices.
        faces: (F, 3) triangle indices.
        joints: (55, 3) SMPL-X joints.
        part_labels: (V,) SMPL-X joint index dominating each vertex.
    """

    vertices: NDArray[np.float64]
    faces: NDArray[np.int64]
    joints: NDArray[np.float64]
    part_labels: NDArray[np.int64]

    @classmethod
    def from_output(cls, output: Any, index: int = 0) -> PosedBody:
        """Take body ``index`` of a batched :class:`avatar.types.BodyOutput` (torch tensors)."""
        return cls(
            vertices=output.vertices[index].detach().cpu().numpy().astype(np.float64),
            faces=output.faces.detach().cpu().numpy().astype(np.int64),
            joints=output.joints[index].detach().cpu().numpy().astype(np.float64),
            part_labels=output.part_labels.detach().cpu().numpy().astype(np.int64),
        )


@dataclass(frozen=True)
class Appearance:
    """How the body looks: a skin albedo and, when the face was textured, an RGBA image over it.

    Attributes:
        skin_rgb: sRGB skin tone in [0, 1].
        texture: optional (H, W, 4) uint8 RGBA, alpha 0 where the skin tone shows through.
        texcoords: (F, 3, 2) UV of each face corner into ``texture`` (required with a texture).
    """

    skin_rgb: tuple[float, float, float] = DEFAULT_SKIN_RGB
    texture: NDArray[np.uint8] | None = None
    texcoords: NDArray[np.float32] | None = None


def vertex_normals(vertices: NDArray[np.float64], faces: NDArray[np.int64]) -> NDArray[np.float64]:
    """(V, 3) area-weighted unit vertex normals (outward for counter-clockwise triangles)."""
    tri = vertices[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    idx = faces.reshape(-1)
    weights = np.repeat(face_n, 3, axis=0)
    normals = np.stack([np.bincount(idx, weights[:, k], minlength=len(vertices)) for k in range(3)], axis=1)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(length, 1e-12)


def build_render_mesh(body: PosedBody, appearance: Appearance) -> tuple[RenderMesh, FaceParts]:
    """The unindexed mesh the renderer draws and the per-face labels it was built from."""
    parts = label_faces(body.vertices, body.faces, body.part_labels, body.joints)
    flat = body.faces.reshape(-1)
    n_corners = len(flat)
    if appearance.texture is not None:
        if appearance.texcoords is None or appearance.texcoords.shape != (len(body.faces), 3, 2):
            raise ValueError(f"texcoords must have shape ({len(body.faces)}, 3, 2) with a texture")
        texcoords = appearance.texcoords.reshape(-1, 2).astype(np.float32)
    else:
        texcoords = np.zeros((n_corners, 2), np.float32)
    labels = np.repeat(np.stack([parts.densepose, parts.flags], axis=1), 3, axis=0).astype(np.float32)
    mesh = RenderMesh(
        positions=body.vertices[flat].astype(np.float32),
        normals=vertex_normals(body.vertices, body.faces)[flat].astype(np.float32),
        colors=np.broadcast_to(np.asarray(appearance.skin_rgb, np.float32), (n_corners, 3)),
        texcoords=texcoords,
        densepose_uv=parts.uv.reshape(-1, 2),
        labels=labels,
        texture=appearance.texture,
    )
    return mesh, parts
