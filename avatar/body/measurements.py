"""The one vocabulary of body measurements (ISO 8559-1 names), its plausible ranges and units.

Everything inside the service is centimetres and kilograms; inches and pounds are accepted only at
the edges and only with an explicit unit. Ranges are wide enough for every ANSUR II subject and for
adult shoppers well outside the army population, yet they reject typos (300 cm, a negative mass)
before a body is fitted to them. Errors are :class:`MeasurementError` (a ``ValueError``) carrying
the field and the limit so the API can answer 422 with both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import get_args

from avatar.types import LengthUnit, MassUnit, MeasurementName, Sex

MEASUREMENTS: tuple[MeasurementName, ...] = get_args(MeasurementName)
LENGTHS: tuple[MeasurementName, ...] = tuple(m for m in MEASUREMENTS if m.endswith("_cm"))
GIRTHS: tuple[MeasurementName, ...] = tuple(m for m in MEASUREMENTS if "_girth_" in m)
SEXES: tuple[Sex, ...] = get_args(Sex)
REQUIRED: tuple[MeasurementName, ...] = ("stature_cm", "body_mass_kg")

# Plausible adult ranges, inclusive (cm, kg, years).
RANGES: dict[str, tuple[float, float]] = {
    "stature_cm": (120.0, 230.0),
    "body_mass_kg": (30.0, 250.0),
    "bust_girth_cm": (60.0, 180.0),
    "underbust_girth_cm": (55.0, 160.0),
    "waist_girth_cm": (45.0, 180.0),
    "hip_girth_cm": (60.0, 190.0),
    "inside_leg_cm": (50.0, 110.0),
    "shoulder_width_cm": (25.0, 60.0),
    "arm_length_cm": (40.0, 90.0),
    "neck_girth_cm": (25.0, 60.0),
    "thigh_girth_cm": (30.0, 100.0),
    "age_years": (16.0, 100.0),
}
BMI_RANGE = (12.0, 70.0)
# ANSUR II's largest waist-over-hip excess is 24.5 cm; 35 cm leaves room for shoppers outside it.
MAX_WAIST_OVER_HIP_CM = 35.0
MAX_UNDERBUST_OVER_BUST_CM = 5.0
INSIDE_LEG_SHARE = (0.35, 0.60)  # of stature; ANSUR II spans 0.42–0.54

# Maximum allowable error (mm) of a fitted body against a given value, ISO 20685-1 style: 4 mm for
# lengths and breadths, 9 mm for girths. Mass is judged relatively (see avatar.body.fitting).
ISO_TOLERANCE_MM: dict[str, float] = {
    **{m: 4.0 for m in LENGTHS if m not in GIRTHS},
    **{g: 9.0 for g in GIRTHS},
}

CM_PER_INCH = 2.54
KG_PER_POUND = 0.45359237


class MeasurementError(ValueError):
    """A measurement outside its plausible range or inconsistent with another one."""

    def __init__(self, field: str, message: str, limit: tuple[float, float] | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.limit = limit


@dataclass(frozen=True)
class Measurements:
    """Validated measurements in cm / kg; ``values`` holds only the ones given."""

    values: dict[str, float]
    sex: Sex = "unspecified"
    age_years: float | None = None


def to_cm(value: float, unit: LengthUnit) -> float:
    """A length in ``unit`` (cm or in) to centimetres."""
    if unit == "cm":
        return float(value)
    if unit == "in":
        return float(value) * CM_PER_INCH
    raise MeasurementError("length_unit", f"must be 'cm' or 'in', got {unit!r}")


def to_kg(value: float, unit: MassUnit) -> float:
    """A mass in ``unit`` (kg or lb) to kilograms."""
    if unit == "kg":
        return float(value)
    if unit == "lb":
        return float(value) * KG_PER_POUND
    raise MeasurementError("mass_unit", f"must be 'kg' or 'lb', got {unit!r}")


def check_range(name: str, value: float) -> float:
    """``value`` if it is finite and inside ``RANGES[name]``, else a :class:`MeasurementError`."""
    if name not in RANGES:
        raise MeasurementError(name, f"unknown measurement; expected one of {sorted(RANGES)}")
    lo, hi = RANGES[name]
    if not math.isfinite(value) or not lo <= value <= hi:
        raise MeasurementError(name, f"{value:g} is outside the plausible range {lo:g}–{hi:g}", (lo, hi))
    return float(value)


def check_consistency(values: Mapping[str, float]) -> None:
    """Cross-field checks a single range cannot express: BMI, waist vs hip, underbust vs bust."""
    stature, mass = values.get("stature_cm"), values.get("body_mass_kg")
    if stature is not None and mass is not None:
        bmi = mass / (stature / 100.0) ** 2
        lo, hi = BMI_RANGE
        if not lo <= bmi <= hi:
            raise MeasurementError(
                "body_mass_kg", f"BMI {bmi:.1f} (from stature and mass) is outside {lo:g}–{hi:g}", BMI_RANGE
            )
    waist, hip = values.get("waist_girth_cm"), values.get("hip_girth_cm")
    if waist is not None and hip is not None and waist - hip > MAX_WAIST_OVER_HIP_CM:
        raise MeasurementError(
            "waist_girth_cm",
            f"waist {waist:g} cm exceeds hip {hip:g} cm by more than {MAX_WAIST_OVER_HIP_CM:g} cm",
            (0.0, hip + MAX_WAIST_OVER_HIP_CM),
        )
    bust, under = values.get("bust_girth_cm"), values.get("underbust_girth_cm")
    if bust is not None and under is not None and under - bust > MAX_UNDERBUST_OVER_BUST_CM:
        raise MeasurementError(
            "underbust_girth_cm",
            f"underbust {under:g} cm exceeds bust {bust:g} cm by more than {MAX_UNDERBUST_OVER_BUST_CM:g} cm",
            (0.0, bust + MAX_UNDERBUST_OVER_BUST_CM),
        )
    leg = values.get("inside_leg_cm")
    if leg is not None and stature is not None:
        lo, hi = INSIDE_LEG_SHARE
        if not lo * stature <= leg <= hi * stature:
            raise MeasurementError(
                "inside_leg_cm",
                f"{leg:g} cm is outside {lo:.0%}–{hi:.0%} of stature "
                f"({lo * stature:.1f}–{hi * stature:.1f} cm)",
                (lo * stature, hi * stature),
            )


def parse_measurements(
    given: Mapping[str, float | None],
    *,
    sex: str = "unspecified",
    age_years: float | None = None,
    length_unit: LengthUnit = "cm",
    mass_unit: MassUnit = "kg",
) -> Measurements:
    """Convert units, check every range and the cross-field rules; stature and mass are required.

    ``given`` maps vocabulary names to values in ``length_unit`` / ``mass_unit``; ``None`` values
    count as not given.
    """
    if sex not in SEXES:
        raise MeasurementError("sex", f"must be one of {', '.join(SEXES)}, got {sex!r}")
    sex_value: Sex = sex
    values: dict[str, float] = {}
    for name, raw in given.items():
        if raw is None:
            continue
        if name not in MEASUREMENTS:
            raise MeasurementError(name, f"unknown measurement; expected one of {', '.join(MEASUREMENTS)}")
        value = to_kg(raw, mass_unit) if name == "body_mass_kg" else to_cm(raw, length_unit)
        values[name] = check_range(name, value)
    for name in REQUIRED:
        if name not in values:
            raise MeasurementError(name, "is required")
    if age_years is not None:
        age_years = check_range("age_years", float(age_years))
    check_consistency(values)
    return Measurements(values=values, sex=sex_value, age_years=age_years)
