"""The vocabulary's units and ranges: conversions at the edge, errors naming field and limit."""

from __future__ import annotations

import pytest

from avatar.body.measurements import (
    BMI_RANGE,
    CM_PER_INCH,
    KG_PER_POUND,
    RANGES,
    MeasurementError,
    parse_measurements,
    to_cm,
    to_kg,
)


def test_inches_and_pounds_convert_only_with_explicit_units() -> None:
    imperial = parse_measurements(
        {"stature_cm": 68.0, "body_mass_kg": 150.0, "waist_girth_cm": 30.0},
        length_unit="in",
        mass_unit="lb",
    )
    assert imperial.values["stature_cm"] == pytest.approx(68.0 * 2.54)
    assert imperial.values["waist_girth_cm"] == pytest.approx(76.2)
    assert imperial.values["body_mass_kg"] == pytest.approx(150.0 * 0.45359237)
    metric = parse_measurements({"stature_cm": 172.7, "body_mass_kg": 68.0})
    assert metric.values == {"stature_cm": 172.7, "body_mass_kg": 68.0}


def test_round_trip_constants() -> None:
    assert to_cm(1.0, "in") == CM_PER_INCH
    assert to_kg(1.0, "lb") == KG_PER_POUND
    with pytest.raises(MeasurementError, match="length_unit"):
        to_cm(1.0, "ft")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"stature_cm": 300.0, "body_mass_kg": 70.0}, "stature_cm"),
        ({"stature_cm": 170.0, "body_mass_kg": -5.0}, "body_mass_kg"),
        ({"stature_cm": 170.0, "body_mass_kg": 70.0, "hip_girth_cm": 400.0}, "hip_girth_cm"),
    ],
)
def test_out_of_range_names_field_and_range(given: dict[str, float], field: str) -> None:
    with pytest.raises(MeasurementError) as info:
        parse_measurements(given)
    lo, hi = RANGES[field]
    assert info.value.field == field
    assert info.value.limit == (lo, hi)
    assert field in str(info.value) and f"{lo:g}" in str(info.value) and f"{hi:g}" in str(info.value)


def test_bmi_limits() -> None:
    lo, hi = BMI_RANGE
    # BMI 12 at 200 cm is 48 kg; BMI 70 at 150 cm is 157.5 kg (both inside the mass range).
    with pytest.raises(MeasurementError, match="BMI") as info:
        parse_measurements({"stature_cm": 200.0, "body_mass_kg": lo * 4.0 - 1.0})
    assert info.value.limit == BMI_RANGE
    with pytest.raises(MeasurementError, match="BMI"):
        parse_measurements({"stature_cm": 150.0, "body_mass_kg": hi * 2.25 + 1.0})
    ok = parse_measurements({"stature_cm": 150.0, "body_mass_kg": hi * 2.25 - 1.0})
    assert ok.values["body_mass_kg"] == pytest.approx(hi * 2.25 - 1.0)


def test_waist_far_above_hip_is_rejected() -> None:
    with pytest.raises(MeasurementError, match="waist") as info:
        parse_measurements(
            {"stature_cm": 170, "body_mass_kg": 90, "waist_girth_cm": 150, "hip_girth_cm": 100}
        )
    assert info.value.field == "waist_girth_cm"
    fine = parse_measurements(
        {"stature_cm": 170, "body_mass_kg": 90, "waist_girth_cm": 110, "hip_girth_cm": 100}
    )
    assert fine.values["waist_girth_cm"] == 110


def test_required_and_unknown_fields() -> None:
    with pytest.raises(MeasurementError, match="body_mass_kg: is required"):
        parse_measurements({"stature_cm": 170.0})
    with pytest.raises(MeasurementError, match="wingspan_cm"):
        parse_measurements({"stature_cm": 170.0, "body_mass_kg": 70.0, "wingspan_cm": 170.0})
    with pytest.raises(MeasurementError, match="sex"):
        parse_measurements({"stature_cm": 170.0, "body_mass_kg": 70.0}, sex="other")
