"""SMPL-X likeness: the iBUG-68 table on real MediaPipe landmarks, the landmark embedding read from an
SMPL-X file, and the fit of expression and head betas on a synthetic SMPL-X file whose face landmarks
and face-local blend shapes are built from a real photo (:mod:`tests.avatar.smplx_support`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from avatar.body.models import create
from avatar.body.models.smplx_backend import SMPLX_DIR_ENV, SmplxBody
from avatar.face.lookalike import FacePhoto, analyze_photo
from avatar.face.smplx_likeness import (
    LIMIT,
    body_embedding,
    embedding_from_file,
    fit_body_head,
    fit_smplx_likeness,
    head_weights,
    landmark_embedding,
    load_ibug_table,
)
from tests.avatar.smplx_support import write_synthetic_smplx

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
FRONTAL = ["frontal_female_astronaut_collins.png", "frontal_male_luciano.png"]


@pytest.fixture(scope="module")
def photos() -> dict[str, FacePhoto]:
    return {name: analyze_photo((FACES / name).read_bytes()) for name in FRONTAL}


@pytest.fixture(scope="module")
def smplx_dir(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, FacePhoto]) -> Path:
    # The face landmarks of the synthetic head come from one photo; the fit is tested on both.
    landmarks = photos[FRONTAL[0]].face.normalized_landmarks()
    return write_synthetic_smplx(tmp_path_factory.mktemp("smplx"), landmarks)


@pytest.fixture(scope="module")
def body(smplx_dir: Path) -> SmplxBody:
    return SmplxBody(sex="female", model_dir=smplx_dir)


@pytest.fixture(autouse=True)
def _temporary_loop_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Loops of synthetic templates go to a temporary cache, not the project's."""
    monkeypatch.setenv("FITROOM_AVATAR_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("name", FRONTAL)
def test_ibug_table_matches_mediapipe_geometry(photos: dict[str, FacePhoto], name: str) -> None:
    """The table's iBUG order on a real photo's landmarks (x to the subject's left, y up)."""
    table = load_ibug_table()
    pts = photos[name].face.normalized_landmarks()
    ib = np.array([pts[table[i]] for i in range(68)])
    x, y = ib[:, 0], ib[:, 1]
    for chain in ([0, 4, 8, 12, 16], [17, 19, 21, 22, 24, 26], [36, 39, 42, 45], [31, 33, 35],
                  [48, 51, 54], [60, 62, 64], [59, 57, 55]):
        assert np.all(np.diff(x[chain]) > 0), ("left-to-right order", chain, x[chain])
    for chain in ([19, 37, 30, 51, 57, 8], [27, 28, 29, 30], [62, 66], [24, 44, 46]):
        assert np.all(np.diff(y[chain]) < 0), ("top-to-bottom order", chain, y[chain])
    pairs = [(0, 16), (3, 13), (17, 26), (19, 24), (36, 45), (39, 42), (31, 35), (48, 54), (59, 55)]
    for a, b in pairs:  # mirror pairs sit at mirrored x and similar height
        assert abs(x[a] + x[b] - 2 * x[30]) < 0.25 and abs(y[a] - y[b]) < 0.2, (a, b, ib[[a, b]])


def test_embedding_is_read_from_the_file(smplx_dir: Path, body: SmplxBody) -> None:
    from smplx.lbs import vertices2landmarks

    path = smplx_dir / "SMPLX_FEMALE.npz"
    embedding = embedding_from_file(path)
    assert embedding.ibug.tolist() == list(range(68))
    with np.load(path) as data:
        assert np.array_equal(embedding.faces_idx[17:], data["lmk_faces_idx"])
        assert np.array_equal(embedding.faces_idx[:17], data["dynamic_lmk_faces_idx"][0])
    assert len(body_embedding(body).ibug) == 51, "without the file only the static points are known"
    # Our barycentric interpolation is the smplx package's own.
    vertices = body.model.v_template[None]
    theirs = vertices2landmarks(vertices, body.model.faces_tensor, body.model.lmk_faces_idx[None],
                                body.model.lmk_bary_coords[None])[0].double().numpy()
    ours = body_embedding(body).points(vertices[0].double().numpy(), body.faces.numpy())
    assert np.allclose(ours, theirs, atol=1e-6)


def test_malformed_inputs_name_the_field(body: SmplxBody) -> None:
    with pytest.raises(ValueError, match="lmk_faces_idx"):
        landmark_embedding(np.zeros(50, int), np.zeros((50, 3)))
    with pytest.raises(ValueError, match="dynamic_lmk_faces_idx"):
        landmark_embedding(np.zeros(51, int), np.zeros((51, 3)), np.zeros((79, 16), int),
                           np.zeros((79, 16, 3)))
    with pytest.raises(ValueError, match=r"lmk_faces_idx: triangle indices must be in \[0, 10\)"):
        landmark_embedding(np.full(51, 10), np.zeros((51, 3)), n_faces=10)
    with pytest.raises(ValueError, match="photo_landmarks"):
        fit_body_head(np.zeros((68, 3)), body, body.default_shape()[None])


@pytest.mark.parametrize("name", FRONTAL)
def test_fit_reduces_the_landmark_error(body: SmplxBody, smplx_dir: Path, photos: dict[str, FacePhoto],
                                        name: str) -> None:
    shape = body.default_shape()[None]
    landmarks = photos[name].face.normalized_landmarks()
    result = fit_body_head(landmarks, body, shape, smplx_dir / "SMPLX_FEMALE.npz")
    assert result.n_landmarks == 68
    assert result.landmark_error_after < result.landmark_error_before
    values = np.array(list(result.expression.values()) + list(result.head_betas.values()))
    assert len(result.expression) == 10 and np.all(np.abs(values) <= LIMIT + 1e-9)
    assert np.abs(values).max() > 0.01
    moved = np.linalg.norm(result.offsets, axis=1) > 1e-9
    head = head_weights(body.model.lbs_weights.double().numpy())
    assert not result.head_betas or moved.any()
    assert np.all(head[moved] > 0), "head beta deltas must stay on the head"


def test_fit_recovers_a_planted_expression(body: SmplxBody, smplx_dir: Path) -> None:
    """Landmarks of the model with a known expression, turned, scaled and shifted like a photo's."""
    model = body.model
    rest = model.v_template.double().numpy()
    expr_dirs = model.expr_dirs.double().numpy()
    faces = body.faces.numpy()
    embedding = embedding_from_file(smplx_dir / "SMPLX_FEMALE.npz")
    rng = np.random.default_rng(7)
    # Plant within what 68 landmarks can tell apart: the leading right-singular vectors of the
    # landmark Jacobian (the synthetic bumps overlap, so some directions barely move a landmark).
    jacobian = embedding.points(expr_dirs, faces).reshape(-1, expr_dirs.shape[2])
    visible = np.linalg.svd(jacobian)[2][:5]
    planted = rng.uniform(-1.0, 1.0, 5) @ visible
    target = embedding.points(rest + expr_dirs @ planted, faces)
    turn = Rotation.from_euler("xyz", rng.uniform(-10, 10, 3), degrees=True).as_matrix()
    photo = np.zeros((478, 3))
    table = load_ibug_table()
    photo[[table[int(i)] for i in embedding.ibug]] = 16.0 * target @ turn.T + rng.normal(0, 1, 3)
    no_betas = np.zeros((len(rest), 3, 0))
    result = fit_smplx_likeness(photo, rest, faces, embedding, no_betas, expr_dirs,
                                head_weights(model.lbs_weights.double().numpy()), ridge=1e-4)
    assert result.landmark_error_after < 0.1 * result.landmark_error_before
    recovered = np.array(list(result.expression.values()))
    assert np.abs(recovered - planted).max() < 0.05, (recovered, planted)


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
    assert {"glb", "obj", "params", "smpl", "preview"} <= set(summary["files"])
    params = json.loads((tmp_path / "out" / "params.json").read_text())
    expression = [params["parameters"][f"expression_{i}"] for i in range(10)]
    assert np.abs(expression).max() > 0.01
    codec = SMPLCodec.from_file(str(tmp_path / "out" / "body.smpl"))
    assert np.allclose(np.asarray(codec.expression_parameters).reshape(-1), expression, atol=1e-5)
    # The written mesh is the recorded body (betas + expression) plus head-only offsets: away from the
    # head nothing moved, so the fitted measurements still hold.
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
