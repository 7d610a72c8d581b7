"""Shared names and small immutable records of the avatar library.

``Literal`` aliases let signatures document themselves and let mypy catch a misspelt option; the
dataclasses are the plain data that crosses module boundaries (pydantic stays at the API edge).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeAlias

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


class Interval(NamedTuple):
    """A completed measurement: the predicted mean and its 80 % interval (cm / kg)."""

    mean: float
    lo: float
    hi: float

    def contains(self, value: float) -> bool:
        return self.lo <= value <= self.hi


@dataclass(frozen=True)
class MeasurementRecord:
    """One measurement of an avatar, as params.json, the database and the API carry it: the value
    the shopper gave (``target``), or the completed one (``predicted``), and what the fitted mesh
    measures (``achieved``), all cm / kg."""

    target: float | None = None
    predicted: Interval | None = None
    achieved: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"target", "predicted": {"mean", "lo", "hi"} | None, "achieved"}``."""
        return {
            "target": self.target,
            "predicted": self.predicted._asdict() if self.predicted is not None else None,
            "achieved": self.achieved,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MeasurementRecord:
        """Read :meth:`as_dict`'s form back (a ValueError names a malformed field)."""
        predicted = data.get("predicted")
        try:
            interval = Interval(**{k: float(predicted[k]) for k in Interval._fields}) if predicted else None
            return cls(
                target=None if data.get("target") is None else float(data["target"]),
                predicted=interval,
                achieved=None if data.get("achieved") is None else float(data["achieved"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"measurement record {dict(data)!r} is malformed: {exc}") from exc


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

    ``target`` holds the measurements the shopper gave, ``predicted`` the completed ones with their
    interval, ``achieved`` what the fitted mesh really measures (all cm / kg).
    """

    params: BodyParams
    target: dict[str, float]
    predicted: dict[str, Interval]
    achieved: dict[str, float]
    iterations: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def measurement_records(fit: FitResult) -> dict[str, MeasurementRecord]:
    """Every measurement of a fit, by name (sorted), achieved values rounded to 0.01 mm."""
    names = sorted(set(fit.target) | set(fit.predicted) | set(fit.achieved))
    return {
        n: MeasurementRecord(
            target=fit.target.get(n),
            predicted=fit.predicted.get(n),
            achieved=round(fit.achieved[n], 3) if n in fit.achieved else None,
        )
        for n in names
    }
