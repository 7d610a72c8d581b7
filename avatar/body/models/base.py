"""The one protocol every body model implements: shape parameters and a pose in, a mesh out.

Shape parameters are a flat (B, P) tensor whose columns are named by ``shape_names``; each backend
states the plausible range of every column (``shape_bounds``) so fitting never leaves it. Poses are
SMPL-X 55-joint axis-angle (B, 55, 3) for every backend (see :mod:`avatar.body.skeleton`).

Abilities only some backends have are their own ``runtime_checkable`` protocols, so callers ask
``isinstance(body, UVMapped)`` instead of testing a backend's name or attributes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from avatar.types import Backend, BodyOutput, Sex


@runtime_checkable
class BodyModel(Protocol):
    """A parametric body: ``forward(shape, pose)`` → :class:`BodyOutput` (metres, Y up)."""

    kind: Backend
    version: str
    shape_names: tuple[str, ...]
    faces: torch.Tensor
    part_labels: torch.Tensor

    def default_shape(self, sex: Sex = "unspecified", age_years: float | None = None) -> torch.Tensor:
        """(P,) the starting shape for a person of this sex and age."""
        ...

    def shape_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(P,), (P,) the lowest and highest plausible value of each shape parameter."""
        ...

    def free_parameters(self) -> tuple[str, ...]:
        """The shape parameters fitting may change (the rest stay at their default, e.g. sex, age)."""
        ...

    def measurement_vertices(
        self, shape: torch.Tensor, vertex_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, P) shape → (B, V, 3) the mesh in the pose measurements are taken in (differentiable);
        only the (K,) ``vertex_ids`` when given, (B, K, 3), which backends may compute faster."""
        ...

    def measurement_joints(self, shape: torch.Tensor) -> torch.Tensor:
        """(B, P) shape → (B, 55, 3) SMPL-X joints of that mesh (to place measurement loops)."""
        ...

    def forward(
        self, shape: torch.Tensor, pose: torch.Tensor | None = None, transl: torch.Tensor | None = None
    ) -> BodyOutput:
        """(B, P) shape, (B, 55, 3) SMPL-X pose, (B, 3) translation → the posed body."""
        ...


@runtime_checkable
class UVMapped(Protocol):
    """A body with its own texture layout, so a face texture can be laid on it (Anny)."""

    @property
    def uv(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(T, 2) texture coordinates and (F, 3) per-face UV indices."""
        ...


@runtime_checkable
class LinearInCoefficients(Protocol):
    """A body whose rest mesh is linear in blendshape coefficients (Anny): fitting differentiates
    measurements w.r.t. the coefficients by autograd and the coefficients w.r.t. the shape
    parameters through :meth:`coefficient_jacobian`, which is much cheaper than autograd through
    the whole phenotype mapping."""

    def coefficient_jacobian(
        self, shape: torch.Tensor, free: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(P,) shape → (C,) coefficients and their derivative (C, F) w.r.t. the (F,) ``free`` indices."""
        ...

    def vertices_from_coefficients(
        self, coeffs: torch.Tensor, vertex_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, C) coefficients → (B, V, 3) rest vertices ((B, K, 3) for ``vertex_ids``)."""
        ...
