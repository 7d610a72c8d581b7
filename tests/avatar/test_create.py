"""The stages of ``avatar.create`` on their own, with the real Anny body: completion, fit, pose on
the floor, files; params.json's schema version checked by its reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avatar.body import export
from avatar.body.measurements import ISO_TOLERANCE_MM, parse_measurements
from avatar.body.models import BodyModel, LinearInCoefficients, UVMapped, create
from avatar.create import FaceInput, apply_face, complete, fit_body, pose_body, write_files
from avatar.render.source import read_params
from avatar.types import Interval, MeasurementRecord


@pytest.fixture(scope="module")
def body() -> BodyModel:
    return create("anny")


def test_anny_is_one_model_with_its_optional_abilities(body: BodyModel) -> None:
    assert create("anny", "male") is create("anny", "female") is body
    assert isinstance(body, UVMapped) and isinstance(body, LinearInCoefficients)


def test_stages_compose_into_files_a_reader_accepts(body: BodyModel, tmp_path: Path) -> None:
    measurements = parse_measurements({"stature_cm": 158.0, "body_mass_kg": 52.0}, sex="female", age_years=45)
    predicted = complete(measurements)
    assert "stature_cm" not in predicted and "underbust_girth_cm" not in predicted
    assert all(p.lo < p.mean < p.hi for p in predicted.values())
    fit = fit_body(measurements, "anny", predicted)
    assert abs(fit.achieved["stature_cm"] - 158.0) * 10.0 <= ISO_TOLERANCE_MM["stature_cm"]
    posed, fit = pose_body(body, fit, "t_pose")
    assert float(posed.vertices[:, 1].min()) == pytest.approx(0.0, abs=1e-9)
    assert fit.params.transl[1] > 0.5 and len(fit.params.pose) == 55
    assert apply_face(body, posed, fit, FaceInput(skin_rgb=(200, 160, 140))) is None  # no photo, no head fit
    files, document = write_files(tmp_path, body, posed, fit, None, {"pose_name": "t_pose"})
    assert {p.name for p in files.values()} == {"mesh.glb", "mesh.obj", "params.json"}
    params = read_params(tmp_path)
    assert params == json.loads(json.dumps(document))
    records = {n: MeasurementRecord.from_dict(v) for n, v in params["measurements"].items()}
    assert records["stature_cm"].target == 158.0 and records["stature_cm"].predicted is None
    waist = records["waist_girth_cm"]
    assert waist.target is None and isinstance(waist.predicted, Interval) and waist.achieved is not None
    assert waist.as_dict() == params["measurements"]["waist_girth_cm"]


def test_params_reader_refuses_another_schema_version(tmp_path: Path) -> None:
    newer = {"schema_version": export.PARAMS_SCHEMA_VERSION + 1, "backend": "anny", "parameters": {},
             "measurements": {}}
    (tmp_path / "params.json").write_text(json.dumps(newer))
    with pytest.raises(ValueError, match="schema_version"):
        read_params(tmp_path)
    (tmp_path / "params.json").write_text(json.dumps({"backend": "anny", "parameters": {}}))
    with pytest.raises(ValueError, match="schema_version None"):
        read_params(tmp_path)


def test_measurement_record_names_a_malformed_field() -> None:
    with pytest.raises(ValueError, match="malformed"):
        MeasurementRecord.from_dict({"target": None, "predicted": {"mean": 1.0, "lo": 0.5}, "achieved": 1.0})
