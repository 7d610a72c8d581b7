"""SMPL-X likeness on a synthetic SMPL-X file (:mod:`tests.avatar.smplx_support`; the licensed files
cannot ship): its landmark map built for real from renders of its head and cached by the file's
content hash, and the fit (expression, head-only betas, warp) on real photos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from avatar.body.models import create
from avatar.body.models.smplx_backend import SMPLX_DIR_ENV, SmplxBody
from avatar.face.correspondence import Correspondence, held_out
from avatar.face.landmark_map import reprojection_errors
from avatar.face.lookalike import FacePhoto, analyze_photo
from avatar.face.smplx_landmarks import head_region, head_weights, neutral_body, smplx_correspondence
from avatar.face.smplx_likeness import LIMIT, fit_body_head, fit_smplx_likeness, nonrigid_effect
from tests.avatar.smplx_support import write_synthetic_smplx

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
FRONTAL = ["frontal_female_astronaut_collins.png", "frontal_male_luciano.png"]


@pytest.fixture(scope="module")
def photos() -> dict[str, FacePhoto]:
    return {name: analyze_photo((FACES / name).read_bytes()) for name in FRONTAL}


@pytest.fixture(scope="module")
def smplx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_smplx(tmp_path_factory.mktemp("smplx"), face=True)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _temporary_cache(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    """Landmark maps and loops of synthetic files go to a temporary cache, not the project's."""
    monkeypatch.setenv("FITROOM_AVATAR_CACHE_DIR", str(cache_dir))


@pytest.fixture(scope="module")
def body(smplx_dir: Path) -> SmplxBody:
    return SmplxBody(sex="female", model_dir=smplx_dir)


@pytest.fixture
def correspondence(body: SmplxBody, smplx_dir: Path) -> Correspondence:
    return smplx_correspondence(body, smplx_dir / "SMPLX_FEMALE.npz").correspondence


def test_map_is_built_once_per_file_content(body: SmplxBody, smplx_dir: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITROOM_AVATAR_CACHE_DIR", str(tmp_path / "fresh"))
    npz = tmp_path / "SMPLX_FEMALE.npz"
    shutil.copy(smplx_dir / "SMPLX_FEMALE.npz", npz)
    first = smplx_correspondence(body, npz)
    assert first.built and first.path.is_file() and first.path.parent.parent == tmp_path / "fresh"
    written = first.path.stat().st_mtime_ns
    again = smplx_correspondence(body, npz)
    assert not again.built and again.path == first.path and first.path.stat().st_mtime_ns == written
    assert np.array_equal(again.correspondence.triangles, first.correspondence.triangles)
    assert not list(first.path.parent.glob("*.tmp")), "no temporary file is left behind"
    # The same path with other content is another file: its own table, built anew.
    with np.load(npz) as data:
        arrays = dict(data)
    np.savez(npz, **arrays, note=np.array("edited"))
    changed = smplx_correspondence(body, npz)
    assert changed.built and changed.path != first.path and first.path.is_file()


def test_redetected_landmarks_land_on_the_stored_points(body: SmplxBody,
                                                        correspondence: Correspondence) -> None:
    """MediaPipe on fresh renders of the synthetic SMPL-X head (frontal and turned) finds its
    landmarks where the stored points project, and every stored point is on SMPL-X's head."""
    posed = neutral_body(body)
    errors = reprojection_errors(posed, correspondence, yaws=(0.0, 15.0, -15.0))
    assert errors["yaw0"] < 0.04, errors
    assert max(errors.values()) < 0.07, errors
    assert head_region(body)[correspondence.triangles].all()
    points = correspondence.points(posed.vertices, posed.faces)
    # SMPL-X's left is +X; MediaPipe 263 is the subject's left outer eye corner, 33 the right one.
    assert points[263, 0] > 0 > points[33, 0]
    assert points[152, 1] < points[1, 1] < points[168, 1], "chin < nose tip < bridge"
    assert points[1, 2] > points[168, 2] + 0.005, "the nose tip stands out in front of the bridge"


@pytest.mark.parametrize("name", FRONTAL)
def test_fit_lowers_fitted_and_held_out_errors(body: SmplxBody, smplx_dir: Path, photos: dict[str, FacePhoto],
                                               name: str) -> None:
    result = fit_body_head(photos[name].face.normalized_landmarks(), body, body.default_shape()[None],
                           smplx_dir / "SMPLX_FEMALE.npz")
    fit = result.fit
    assert fit.n_landmarks == int((~held_out()).sum()) == 382
    assert fit.landmark_error_after < 0.8 * fit.landmark_error_before, fit.summary()
    assert fit.landmark_error_heldout < 0.9 * fit.landmark_error_heldout_before, fit.summary()
    values = np.array(list(result.expression.values()) + list(result.head_betas.values()))
    assert len(result.expression) == 10 and np.all(np.abs(values) <= LIMIT + 1e-9)
    assert np.abs(values).max() > 0.01 and fit.warp_mm > 0.1
    moved = np.linalg.norm(result.offsets, axis=1) > 1e-9
    assert np.all(head_weights(body.model.lbs_weights.double().numpy())[moved] > 0), "only the head moves"


def test_fit_recovers_a_planted_expression(body: SmplxBody, correspondence: Correspondence) -> None:
    """Landmarks of the model with a known expression, turned, scaled and shifted like a photo's."""
    model = body.model
    rest = model.v_template.double().numpy()
    expr_dirs = model.expr_dirs.double().numpy()
    faces = body.faces.numpy()
    rng = np.random.default_rng(7)
    # Plant within what the fitted landmarks can tell apart: the leading right-singular vectors of the
    # landmark Jacobian (the synthetic bumps overlap, so some directions barely move a landmark and
    # the coefficients themselves are not identifiable; their effect on the landmarks is).
    jacobian = correspondence.points(expr_dirs, faces)[~held_out()].reshape(-1, expr_dirs.shape[2])
    planted = rng.uniform(-1.0, 1.0, 5) @ np.linalg.svd(jacobian)[2][:5]
    target = correspondence.points(rest + expr_dirs @ planted, faces)
    turn = Rotation.from_euler("xyz", rng.uniform(-10, 10, 3), degrees=True).as_matrix()
    photo = 16.0 * target @ turn.T + rng.normal(0, 1, 3)
    result = fit_smplx_likeness(photo, rest, faces, correspondence, np.zeros((len(rest), 3, 0)), expr_dirs,
                                head_weights(model.lbs_weights.double().numpy()), ridge=1e-4)
    assert result.fit.landmark_error_after < 0.1 * result.fit.landmark_error_before
    assert result.fit.landmark_error_heldout < 0.1 * result.fit.landmark_error_heldout_before
    # The basis, not the warp, moves the landmarks as planted, up to a similarity (the pose's share).
    recovered = np.array(list(result.expression.values()))
    base = correspondence.points(rest, faces)[~held_out()]
    fields = (jacobian @ np.stack([recovered - planted, planted], axis=1)).reshape(len(base), 3, 2)
    miss, effect = nonrigid_effect(base, fields)
    assert miss < 0.1 * effect, (recovered, planted)


def test_malformed_inputs_name_the_field(body: SmplxBody, correspondence: Correspondence) -> None:
    rest = body.model.v_template.double().numpy()
    dirs = body.model.expr_dirs.double().numpy()
    head = head_weights(body.model.lbs_weights.double().numpy())
    faces = body.faces.numpy()
    with pytest.raises(ValueError, match="photo_landmarks"):
        fit_smplx_likeness(np.zeros((68, 3)), rest, faces, correspondence, dirs, dirs, head)
    with pytest.raises(ValueError, match="beta_dirs"):
        fit_smplx_likeness(np.zeros((478, 3)), rest, faces, correspondence, dirs[:10], dirs, head)
    with pytest.raises(ValueError, match="head"):
        fit_smplx_likeness(np.zeros((478, 3)), rest, faces, correspondence, dirs, dirs, head[:10])


def test_create_avatar_with_smplx_fits_the_head(smplx_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                photos: dict[str, FacePhoto]) -> None:
    from smplcodec import SMPLCodec

    from avatar.body.measurements import parse_measurements
    from avatar.create import FaceInput, create_avatar

    monkeypatch.setenv(SMPLX_DIR_ENV, str(smplx_dir))  # part of the body model cache's key
    measurements = parse_measurements({"stature_cm": 165.0, "body_mass_kg": 60.0}, sex="female")
    summary = create_avatar(measurements, tmp_path / "out", backend="smplx",
                            face=FaceInput(photo=photos[FRONTAL[1]]))
    smplx_body = create("smplx", "female")
    assert isinstance(smplx_body, SmplxBody)
    face = summary["face"]
    assert face["landmark_error_after"] < face["landmark_error_before"]
    assert 0 < face["landmark_error_heldout"] < 1
    assert {"glb", "obj", "params", "smpl", "preview"} <= set(summary["files"])
    params = json.loads((tmp_path / "out" / "params.json").read_text())
    expression = [params["parameters"][f"expression_{i}"] for i in range(10)]
    assert np.abs(expression).max() > 0.01
    codec = SMPLCodec.from_file(str(tmp_path / "out" / "body.smpl"))
    assert np.allclose(np.asarray(codec.expression_parameters).reshape(-1), expression, atol=1e-5)
    # The written mesh is the recorded body (betas + expression) plus head-only offsets (beta deltas
    # and the warp): away from the head nothing moved, so the fitted measurements still hold.
    shape = torch.tensor([[params["parameters"][n] for n in smplx_body.shape_names]])
    pose = torch.tensor(params["pose"]["values"], dtype=torch.float32)[None]
    with torch.no_grad():
        recorded = smplx_body.forward(shape, pose).vertices[0].double().numpy()
    recorded[:, 1] += params["translation_m"][1]
    lines = (tmp_path / "out" / "mesh.obj").read_text().splitlines()
    written = np.array([[float(v) for v in ln.split()[1:4]] for ln in lines if ln.startswith("v ")])
    head = head_weights(smplx_body.model.lbs_weights.double().numpy()) > 0
    assert np.abs(written[~head] - recorded[~head]).max() < 1e-4
    assert params["head_betas"] and np.abs(written[head] - recorded[head]).max() > 1e-4
