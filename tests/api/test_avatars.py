"""``/v1/avatars`` over real HTTP (TestClient) on SQLite and PostgreSQL: errors, create, files, delete."""

from __future__ import annotations

import json

import pygltflib
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.settings import Settings
from avatar.body.measurements import BMI_RANGE, MAX_WAIST_OVER_HIP_CM, RANGES

BASE = {"stature_cm": 170.0, "body_mass_kg": 65.0, "sex": "female", "age_years": 29}


def _error(response: Response) -> dict:
    assert response.status_code == 422, response.text
    return response.json()["error"]


@pytest.mark.parametrize(
    ("change", "field", "limit"),
    [
        ({"stature_cm": 300.0}, "stature_cm", RANGES["stature_cm"]),
        ({"body_mass_kg": -4.0}, "body_mass_kg", RANGES["body_mass_kg"]),
        ({"stature_cm": 200.0, "body_mass_kg": 40.0}, "body_mass_kg", BMI_RANGE),
        ({"stature_cm": 150.0, "body_mass_kg": 170.0}, "body_mass_kg", BMI_RANGE),
    ],
)
def test_out_of_range_is_422_naming_field_and_range(
    client: TestClient, change: dict, field: str, limit: tuple[float, float]
) -> None:
    error = _error(client.post("/v1/avatars", json=BASE | change))
    assert error["details"]["field"] == field
    assert error["details"]["range"] == list(limit)
    assert (
        field in error["message"]
        and f"{limit[0]:g}" in error["message"]
        and f"{limit[1]:g}" in error["message"]
    )


def test_waist_far_above_hip_is_422(client: TestClient) -> None:
    error = _error(client.post("/v1/avatars", json=BASE | {"waist_girth_cm": 150.0, "hip_girth_cm": 95.0}))
    assert error["details"]["field"] == "waist_girth_cm"
    assert f"{MAX_WAIST_OVER_HIP_CM:g}" in error["message"]


def test_schema_errors_name_the_field(client: TestClient) -> None:
    error = _error(client.post("/v1/avatars", json={"body_mass_kg": 60}))
    assert "stature_cm" in error["message"]
    error = _error(client.post("/v1/avatars", json=BASE | {"length_unit": "furlong"}))
    assert "length_unit" in error["message"]
    error = _error(client.post("/v1/avatars", json=BASE | {"wingspan_cm": 170}))
    assert "wingspan_cm" in error["message"]


def test_unknown_ids_are_404(client: TestClient) -> None:
    for path in ("/v1/avatars/nope", "/v1/avatars/00000000-0000-0000-0000-000000000000/mesh.glb"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client.delete("/v1/avatars/00000000-0000-0000-0000-000000000000").status_code == 404


def test_smplx_without_files_is_503_saying_how(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FITROOM_SMPLX_DIR", raising=False)
    response = client.post("/v1/avatars", json=BASE | {"backend": "smplx"})
    assert response.status_code == 503
    assert "FITROOM_SMPLX_DIR" in response.json()["error"]["message"]


def test_create_get_files_delete(client: TestClient, settings: Settings) -> None:
    body = BASE | {"stature_cm": 65.0, "length_unit": "in", "waist_girth_cm": 29.0}
    created = client.post("/v1/avatars", json=body)
    assert created.status_code == 201, created.text
    avatar = created.json()
    stature = avatar["measurements"]["stature_cm"]
    assert stature["target"] == pytest.approx(65.0 * 2.54)
    assert abs(stature["achieved"] - 65.0 * 2.54) < 0.4
    hip = avatar["measurements"]["hip_girth_cm"]
    lo, mean, hi = (hip["predicted"][k] for k in ("lo", "mean", "hi"))
    assert hip["target"] is None and lo < mean < hi and mean > 80 and lo <= hip["achieved"] <= hi

    folder = settings.artifact_dir / "avatars" / avatar["id"]
    assert sorted(p.name for p in folder.iterdir()) == ["mesh.glb", "mesh.obj", "params.json"]
    assert client.get(avatar["links"]["self"]).json() == avatar

    glb = client.get(avatar["links"]["mesh_glb"])
    assert glb.status_code == 200 and glb.headers["content-type"] == "model/gltf-binary"
    assert pygltflib.GLTF2.load_from_bytes(glb.content).asset.version == "2.0"
    params = client.get(avatar["links"]["params_json"])
    assert json.loads(params.content)["measurements"]["stature_cm"]["target"] == pytest.approx(165.1)

    assert client.delete(avatar["links"]["self"]).status_code == 204
    assert not folder.exists()
    assert client.get(avatar["links"]["self"]).status_code == 404
    assert list((settings.artifact_dir / "avatars").iterdir()) == []
