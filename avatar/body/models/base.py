"""The one protocol every body model implements: shape parameters and a pose in, a mesh out.

Shape parameters are a flat (B, P) tensor whose columns are named by ``shape_names``; each backend
states the plausible range of every column (``shape_bounds``) so fitting never leaves it. Poses are
SMPL-X 55-joint axis-angle (B, 55, 3) for every backend (see :mod:`avatar.body.skeleton`).
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
