"""``fitroom avatar evaluate --json`` on held-out ANSUR II subjects: the production path's accuracy,
the completion block with ``achieved_in_interval_pct``, bad arguments named."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api import cli
from avatar.body.measurements import ISO_TOLERANCE_MM
from avatar.evaluate import ansur_heldout, evaluate, evaluate_definitions

GIVEN = ("stature_cm", "body_mass_kg", "sex", "age_years", "inside_leg_cm", "arm_length_cm")


def test_cli_reports_given_lengths_and_completed_intervals() -> None:
    result = CliRunner().invoke(
        cli.app, ["avatar", "evaluate", "--ansur", "--limit", "2", "--given", ",".join(GIVEN), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["n_subjects"] == 2 and report["given"] == list(GIVEN)
    assert set(report["fitting"]) == {"stature_cm", "inside_leg_cm", "arm_length_cm"}
    for name, block in report["fitting"].items():
        assert 0.0 <= block["median_mm"] <= block["p95_mm"] <= block["max_mm"]
        assert block["within_iso_pct"] in (0.0, 50.0, 100.0), (name, block)
    inside = report["completion"]["achieved_in_interval_pct"]
    completed = {"bust_girth_cm", "waist_girth_cm", "hip_girth_cm", "thigh_girth_cm", "neck_girth_cm",
                 "shoulder_width_cm"}
    assert set(inside) == completed  # every measurement not given that has an interval
    assert all(v in (0.0, 50.0, 100.0) for v in inside.values())
    assert "ansur_heldout" in report["completion"]["datasets"]
    assert report["seconds_per_avatar"] > 0.0 and report["mass"]["median_kg"] >= 0.0


def test_given_girths_are_met_within_iso_tolerance() -> None:
    report = evaluate(ansur_heldout(4).iloc[1:3])  # a woman and a man
    assert set(report["fitting"]) == {"stature_cm", "bust_girth_cm", "waist_girth_cm", "hip_girth_cm"}
    for name, block in report["fitting"].items():
        assert block["max_mm"] <= ISO_TOLERANCE_MM[name], (name, block)


def test_cli_names_an_unknown_given_column() -> None:
    result = CliRunner().invoke(cli.app, ["avatar", "evaluate", "--ansur", "--limit", "1", "--given",
                                          "stature_cm,body_mass_kg,wingspan_cm"])
    assert result.exit_code == 2 and "wingspan_cm" in result.output


def test_definitions_check_reads_lengths_off_bodies_fitted_on_girths() -> None:
    block = evaluate_definitions(ansur_heldout(2))
    assert set(block) == {"inside_leg_cm", "shoulder_width_cm", "arm_length_cm"}
    for name, row in block.items():
        assert abs(row["bias_mm"]) <= row["max_mm"] and row["median_mm"] <= row["max_mm"], (name, row)
    # Unfitted, the breadth and the arm still land within a few centimetres of ANSUR's values.
    assert block["shoulder_width_cm"]["max_mm"] < 80.0 and block["arm_length_cm"]["max_mm"] < 80.0
