"""The SMPL-X backend on a structurally valid synthetic SMPL-X file built here.

The licensed SMPL-X files cannot ship, so the test writes an npz with SMPL-X's layout
(:mod:`tests.avatar.smplx_support`). The real ``smplx`` loader, our anthropometry, loops and fitting
then run on it unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avatar.body import loops
from avatar.body.fitting import BodyFitter
from avatar.body.models.smplx_backend import SMPLX_DIR_ENV, SmplxBody, smplx_file
from tests.avatar.smplx_support import NUM_JOINTS, SMPLX_VERTICES, write_synthetic_smplx


@pytest.fixture(scope="module")
def smplx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_smplx(tmp_path_factory.mktemp("smplx"))


def test_missing_folder_says_how_to_get_the_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(SMPLX_DIR_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=SMPLX_DIR_ENV) as info:
        smplx_file("female")
    assert "smpl-x.is.tue.mpg.de" in str(info.value)
    with pytest.raises(FileNotFoundError, match="SMPLX_MALE.npz"):
        smplx_file("male", tmp_path)


def test_synthetic_file_loads_poses_and_labels(smplx_dir: Path) -> None:
    body = SmplxBody(sex="female", model_dir=smplx_dir)
    shape = body.default_shape()[None]
    out = body(shape)
    assert out.vertices.shape == (1, SMPLX_VERTICES, 3)
    assert out.joints.shape == (1, NUM_JOINTS, 3)
    assert out.part_labels.shape == (SMPLX_VERTICES,)
    assert len(body.shape_names) == 20 and len(body.free_parameters()) == 10
    # The a_pose lowers the hands below the shoulders; the T-pose keeps them level.
    t_pose = body(shape, torch.zeros(1, NUM_JOINTS, 3))
    wrist, shoulder = 20, 16
    assert abs(float(t_pose.joints[0, wrist, 1] - t_pose.joints[0, shoulder, 1])) < 0.05
    assert float(out.joints[0, wrist, 1]) < float(out.joints[0, shoulder, 1]) - 0.2


def test_synthetic_body_is_measured_and_fitted(smplx_dir: Path) -> None:
    body = SmplxBody(sex="female", model_dir=smplx_dir)
    template = loops.template_loops(body, "female")
    with torch.no_grad():
        start = body.measurement_vertices(body.default_shape()[None])
    from avatar.body import anthropometry

    initial = {k: float(v[0]) for k, v in anthropometry.measure(start, body.faces, template).items()}
    target = {
        "stature_cm": initial["stature_cm"] * 1.04,
        "body_mass_kg": initial["body_mass_kg"] * 1.15,
        "waist_girth_cm": initial["waist_girth_cm"] * 1.05,
    }
    fit = BodyFitter(body).fit(template, target, sex="female")
    for name, value in target.items():
        tolerance = 0.01 * value if name == "body_mass_kg" else 0.5
        assert abs(fit.achieved[name] - value) < tolerance, (name, fit.achieved[name], value)
    assert all(abs(fit.params.shape[f"beta_{i}"]) <= 3.0 for i in range(10))


@pytest.fixture(autouse=True)
def _temporary_loop_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Loops of synthetic templates go to a temporary cache, not the project's."""
    monkeypatch.setenv("FITROOM_AVATAR_CACHE_DIR", str(tmp_path / "cache"))


def test_create_avatar_with_smplx_writes_a_smpl_file(
    smplx_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from smplcodec import SMPLCodec

    from avatar.body.measurements import parse_measurements
    from avatar.create import create_avatar

    monkeypatch.setenv(SMPLX_DIR_ENV, str(smplx_dir))  # part of the body model cache's key
    measurements = parse_measurements({"stature_cm": 160.0, "body_mass_kg": 55.0}, sex="male")
    summary = create_avatar(measurements, tmp_path / "out", backend="smplx")
    assert summary["files"]["smpl"] == "body.smpl"
    codec = SMPLCodec.from_file(str(tmp_path / "out" / "body.smpl"))
    params = json.loads((tmp_path / "out" / "params.json").read_text())
    betas = [params["parameters"][f"beta_{i}"] for i in range(10)]
    assert np.allclose(codec.shape_parameters, betas, atol=1e-6)
    assert params["backend"] == "smplx" and "SMPLX_MALE.npz" in params["backend_version"]
    assert abs(params["measurements"]["stature_cm"]["achieved"] - 160.0) < 0.4
