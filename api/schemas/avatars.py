"""Request and response shapes of ``/v1/avatars``; ranges live in :mod:`avatar.body.measurements`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from avatar.body.measurements import Measurements, parse_measurements
from avatar.types import MeasurementRecord


class AvatarCreate(BaseModel):
    """Body parameters. Lengths are in ``length_unit`` and mass in ``mass_unit`` (cm and kg unless
    stated): inches and pounds are accepted only with the explicit unit field. Stature and mass are
    required; everything else is completed from ANSUR II when missing.

    With a face photo this same object travels as the ``body`` part of a multipart request.
    """

    model_config = ConfigDict(extra="forbid")

    stature_cm: float = Field(description="Stature, floor to top of head.", examples=[172])
    body_mass_kg: float = Field(description="Body mass.", examples=[68])
    bust_girth_cm: float | None = None
    underbust_girth_cm: float | None = None
    waist_girth_cm: float | None = None
    hip_girth_cm: float | None = None
    inside_leg_cm: float | None = None
    shoulder_width_cm: float | None = None
    arm_length_cm: float | None = None
    neck_girth_cm: float | None = None
    thigh_girth_cm: float | None = None
    sex: Literal["female", "male", "unspecified"] = "unspecified"
    age_years: float | None = None
    length_unit: Literal["cm", "in"] = Field("cm", description="Unit of every length field.")
    mass_unit: Literal["kg", "lb"] = Field("kg", description="Unit of body_mass_kg.")
    backend: Literal["anny", "smplx"] = "anny"
    pose: Literal["a_pose", "t_pose", "neutral"] = "a_pose"

    def measurements(self) -> Measurements:
        """Converted to cm / kg and checked (raises :class:`avatar.body.measurements.MeasurementError`)."""
        values = self.model_dump(
            exclude={"sex", "age_years", "length_unit", "mass_unit", "backend", "pose"}, exclude_none=True
        )
        return parse_measurements(
            values,
            sex=self.sex,
            age_years=self.age_years,
            length_unit=self.length_unit,
            mass_unit=self.mass_unit,
        )


class IntervalPublic(BaseModel):
    mean: float = Field(description="Predicted value (cm / kg).")
    lo: float = Field(description="Lower end of the 80 % interval.")
    hi: float = Field(description="Upper end of the 80 % interval.")


class MeasurementPublic(BaseModel):
    """One :class:`avatar.types.MeasurementRecord` as the API shows it."""

    target: float | None = Field(None, description="Given by the shopper (cm / kg).")
    predicted: IntervalPublic | None = Field(None, description="Completed: mean and 80 % interval.")
    achieved: float | None = Field(None, description="Measured on the fitted mesh.")

    @classmethod
    def from_record(cls, record: MeasurementRecord) -> MeasurementPublic:
        predicted = IntervalPublic(**record.predicted._asdict()) if record.predicted is not None else None
        return cls(target=record.target, predicted=predicted, achieved=record.achieved)


class AvatarLinks(BaseModel):
    self: str
    mesh_glb: str
    params_json: str


class AvatarPublic(BaseModel):
    id: str
    created_at: datetime | None
    backend: str
    sex: str
    measurements: dict[str, MeasurementPublic]
    links: AvatarLinks
    face: dict[str, Any] | None = Field(
        None, description="With a photo: pose, skin_tone, landmark_error_before, landmark_error_after."
    )
