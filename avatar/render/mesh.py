"""Turn a posed body into the triangle soup the renderer draws, with its labels and appearance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.render.parts import HAIR_LABEL, L_EYE, L_HIP, NECK, R_EYE, R_HIP, face_labels, segment_frames
from avatar.render.renderer import RenderMesh

DEFAULT_SKIN_RGB = (0.80, 0.62, 0.52)  # used only when the avatar records no measured skin tone
COLLAR_ABOVE_NECK_M = 0.0  # an upper garment reaches this far above the SMPL-X neck joint (neck base)


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
    """How the body looks: a skin albedo and, when the face was textured, an image over it.

    Attributes:
        skin_rgb: sRGB skin tone in [0, 1].
        texture: optional (H, W, 4) uint8 RGBA on the body model's UV map (origin bottom-left),
            alpha 0 where the skin tone shows through.
        uv: (T, 2) texture coordinates (required with a texture).
        uv_faces: (F, 3) index into ``uv`` of each triangle corner (required with a texture).
        hair: optional hair mesh (``avatar.face.hair_mesh.HairMesh``: vertices, faces, uv, srgb),
            drawn with the body but labelled apart, so masks and measurements leave it out.
        eyes_in_texture: the texture carries the eyes (from the photo or painted into it).
    """

    skin_rgb: tuple[float, float, float] = DEFAULT_SKIN_RGB
    texture: NDArray[np.uint8] | None = None
    uv: NDArray[np.float32] | None = None
    uv_faces: NDArray[np.int64] | None = None
    hair: Any = None
    eyes_in_texture: bool = False


def vertex_normals(vertices: NDArray[np.float64], faces: NDArray[np.int64]) -> NDArray[np.float64]:
    """(V, 3) area-weighted unit vertex normals (outward for counter-clockwise triangles)."""
    tri = vertices[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    idx = faces.reshape(-1)
    weights = np.repeat(face_n, 3, axis=0)
    normals = np.stack([np.bincount(idx, weights[:, k], minlength=len(vertices)) for k in range(3)], axis=1)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(length, 1e-12)


def build_render_mesh(body: PosedBody, appearance: Appearance) -> RenderMesh:
    """The mesh the renderer draws: geometry, per-triangle joints and the segment charts.

    With a texture, vertices on a UV seam are duplicated so each carries one texture coordinate.
    """
    frames = segment_frames(body.vertices, body.part_labels, body.joints)
    normals = vertex_normals(body.vertices, body.faces)
    positions, triangles = body.vertices, body.faces
    texcoords = np.zeros((len(positions), 2), np.float32)
    if appearance.texture is not None:
        uv_faces = appearance.uv_faces
        if appearance.uv is None or uv_faces is None or uv_faces.shape != body.faces.shape:
            raise ValueError(f"appearance: a texture needs uv and uv_faces of shape {body.faces.shape}")
        pairs = np.stack([body.faces.reshape(-1), uv_faces.reshape(-1)], axis=1)
        unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
        positions, normals = body.vertices[unique[:, 0]], normals[unique[:, 0]]
        texcoords = np.asarray(appearance.uv, np.float32)[unique[:, 1]]
        triangles = inverse.reshape(body.faces.shape)
    face_joint = face_labels(body.part_labels, body.faces)
    hair_rgb = (0.2, 0.15, 0.1)
    hair = appearance.hair
    if hair is not None:
        hair_vertices = np.asarray(hair.vertices, np.float64)
        triangles = np.concatenate([triangles, np.asarray(hair.faces, np.int64) + len(positions)])
        positions = np.concatenate([positions, hair_vertices])
        normals = np.concatenate([normals, vertex_normals(hair_vertices, np.asarray(hair.faces, np.int64))])
        texcoords = np.concatenate([texcoords, np.asarray(hair.uv, np.float32)])
        face_joint = np.concatenate([face_joint, np.full(len(hair.faces), HAIR_LABEL, np.int64)])
        r, g, b = (c / 255.0 for c in hair.srgb)
        hair_rgb = (r, g, b)
    return RenderMesh(
        positions=positions.astype(np.float32),
        normals=normals.astype(np.float32),
        texcoords=texcoords,
        triangles=triangles,
        face_joint=face_joint,
        frames=frames,
        hip_y=float(0.5 * (body.joints[L_HIP, 1] + body.joints[R_HIP, 1])),
        collar_y=float(body.joints[NECK, 1] + COLLAR_ABOVE_NECK_M),
        eye_centres=body.joints[[L_EYE, R_EYE]],
        skin_rgb=appearance.skin_rgb,
        texture=appearance.texture,
        hair_rgb=hair_rgb,
        paint_eyes=not (appearance.texture is not None and appearance.eyes_in_texture),
    )
