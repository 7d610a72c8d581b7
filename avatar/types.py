"""Shared names and small immutable records of the avatar library.

``Literal`` aliases let signatures document themselves and let mypy catch a misspelt option; the
dataclasses are the plain data that crosses module boundaries (pydantic stays at the API edge).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import torch

Backend: TypeAlias = Literal["anny", "smplx"]
Sex: TypeAlias = Literal["female", "male", "unspecified"]
PoseName: TypeAlias = Literal["a_pose", "t_pose", "neutral"]
LengthUnit: TypeAlias = Literal["cm", "in"]
MassUnit: TypeAlias = Literal["kg", "lb"]

# ISO 8559-1 names of the body measurements the service knows (cm, kg).
MeasurementName: TypeAlias = Literal[
    "stature_cm",
    "body_mass_kg",
    "bust_girth_cm",
    "underbust_girth_cm",
    "waist_girth_cm",
    "hip_girth_cm",
    "inside_leg_cm",
    "shoulder_width_cm",
    "arm_length_cm",
    "neck_girth_cm",
    "thigh_girth_cm",
]


@dataclass(frozen=True)
class BodyParams:
    """Shape and pose of one body, independent of how it was obtained.

    ``shape`` holds the backend's named shape parameters (Anny phenotypes and ``measure-*`` local
    changes in [0, 1] / [-1, 1]; SMPL-X ``beta_0 …`` and ``expression_0 …``). ``pose`` is the SMPL-X
    55-joint axis-angle pose (55 x 3, radians) for both backends; ``transl`` is metres.
    """

    backend: Backend
    shape: dict[str, float]
    pose: tuple[tuple[float, float, float], ...]
    sex: Sex = "unspecified"
    transl: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class BodyOutput:
    """What a body model returns, in one frame for every backend: metres, Y up, +Z forward (the
    SMPL-X and glTF convention), X towards the body's left.

    Attributes:
        vertices: (B, V, 3) posed vertices.
        faces: (F, 3) int64 triangle indices, shared by the batch.
        joints: (B, 55, 3) SMPL-X-ordered joint positions (see :mod:`avatar.body.skeleton`).
        rest_vertices: (B, V, 3) vertices in the backend's measurement pose (Anny: its native rest
            A-pose; SMPL-X: the ``a_pose``), the mesh anthropometry is taken on.
        part_labels: (V,) int64 SMPL-X joint index that dominates each vertex's skinning.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    joints: torch.Tensor
    rest_vertices: torch.Tensor
    part_labels: torch.Tensor


@dataclass(frozen=True)
class FitResult:
    """The outcome of fitting one body to measurement targets.

    ``target`` holds the measurements the shopper gave, ``predicted`` the completed ones as
    (mean, lo, hi), ``achieved`` what the fitted mesh really measures (all cm / kg).
    """

    params: BodyParams
    target: dict[str, float]
    predicted: dict[str, tuple[float, float, float]]
    achieved: dict[str, float]
    iterations: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
