"""``GET /v1/avatars/{id}/tryon-bundle`` over real HTTP (TestClient) on SQLite and PostgreSQL, and
``fitroom avatar bundle`` on an avatar folder.

Avatars are written the way ``avatar create`` / ``/v1/avatars`` write them (params.json and mesh.glb,
plus the row for a stored one) from the real Anny model's default female shape, without the
minute-long fit.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from api import cli
from api.db.avatar_tables import Avatar
from api.db.session import session_scope
from api.routers.avatars import avatar_dir
from api.settings import Settings
from avatar.body import export, skeleton
from avatar.body.models import create as create_body
from avatar.render.bundle import BUNDLE_FILES
from avatar.render.tryon import validate_bundle_files
from avatar.types import BodyParams, FitResult

DATA = Path(__file__).resolve().parents[2] / "data"
SKIN = (150, 96, 70)  # a distinctive tone, far from the renderer's default


def _solid_png(rgb: tuple[int, int, int]) -> bytes:
    png = io.BytesIO()
    Image.new("RGB", (64, 64), rgb).save(png, format="PNG")
    return png.getvalue()


def _write_avatar(folder: Path, texture_png: bytes | None = None) -> None:
    """params.json and mesh.glb of a default female Anny body: skin-coloured, or with a texture."""
    body: Any = create_body("anny")
    shape = body.default_shape("female")
    with torch.no_grad():
        posed = body.forward(shape[None], skeleton.named_pose("a_pose")[None])
    fit = FitResult(
        params=BodyParams(backend="anny", shape=dict(zip(body.shape_names, shape.tolist(), strict=True)),
                          pose=tuple(tuple(j) for j in skeleton.named_pose("a_pose").tolist()), sex="female"),
        target={}, predicted={}, achieved={}, iterations=0, seconds=0.0,
    )
    folder.mkdir(parents=True)
    export.write_params(folder / "params.json", export.params_document(fit, body.version))
    vertices, faces = posed.vertices[0].double().numpy(), posed.faces.numpy()
    if texture_png is None:
        export.write_glb(folder / "mesh.glb", vertices, faces, SKIN)
        return
    uv, uv_faces = (t.numpy() for t in body.uv)
    split_v, split_f, split_uv, _ = export.split_by_uv(vertices, faces, uv, uv_faces)
    export.write_glb(folder / "mesh.glb", split_v, split_f, SKIN, export.Texture(texture_png, split_uv))


def _torso_colour(person_png: bytes, iuv_png: bytes) -> np.ndarray:
    person = np.asarray(Image.open(io.BytesIO(person_png)).convert("RGB")).astype(float)
    iuv = np.asarray(Image.open(io.BytesIO(iuv_png)))
    return np.asarray(person[iuv[..., 0] == 2].mean(axis=0))


@pytest.fixture
def stored_avatar(settings: Settings) -> str:
    avatar_id = str(uuid.uuid4())
    _write_avatar(avatar_dir(settings, avatar_id))
    with session_scope(settings.sqlalchemy_url) as session:
        session.add(Avatar(id=avatar_id, backend="anny", sex="female", measurements={}, face=None))
    return avatar_id


def test_bundle_zip_over_http(client: TestClient, settings: Settings, stored_avatar: str) -> None:
    response = client.get(f"/v1/avatars/{stored_avatar}/tryon-bundle", params={"size": "384x512"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    files = {name: archive.read(name) for name in archive.namelist()}
    assert set(files) == set(BUNDLE_FILES)
    assert validate_bundle_files(files) == []
    report = json.loads(files["bundle_report.json"])
    assert report["passed"] is True and report["image_size"] == {"width": 384, "height": 512,
                                                                 "all_images_match": True}
    assert files["params.json"] == (avatar_dir(settings, stored_avatar) / "params.json").read_bytes()
    # The skin tone comes from the stored mesh.glb: the lit torso is close to it, not to the default.
    torso = _torso_colour(files["person.png"], files["densepose_iuv.png"])
    assert np.linalg.norm(torso - SKIN) < np.linalg.norm(torso - (204, 158, 133))


def test_bundle_errors_name_the_problem(client: TestClient, stored_avatar: str) -> None:
    missing = client.get(f"/v1/avatars/{uuid.uuid4()}/tryon-bundle")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/v1/avatars/not-an-id/tryon-bundle").status_code == 404
    bad = client.get(f"/v1/avatars/{stored_avatar}/tryon-bundle", params={"size": "800x600"})
    assert bad.status_code == 422
    (error,) = bad.json()["error"]["details"]["errors"]
    assert error["field"] == "size" and "768x1024" in error["message"]
    pose = client.get(f"/v1/avatars/{stored_avatar}/tryon-bundle", params={"pose": "cartwheel"})
    assert pose.status_code == 422 and pose.json()["error"]["details"]["errors"][0]["field"] == "pose"


def test_cli_bundles_a_textured_avatar_folder(tmp_path: Path) -> None:
    """The texture of mesh.glb is laid on the body through the model's UV map: the torso turns green."""
    _write_avatar(tmp_path / "avatar", texture_png=_solid_png((40, 170, 70)))
    out = tmp_path / "bundle"
    args = ["avatar", "bundle", str(tmp_path / "avatar"), "--out", str(out), "--size", "384x512", "--json"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["passed"] is True and report["out_dir"] == str(out)
    assert sorted(p.name for p in out.iterdir()) == sorted(BUNDLE_FILES)
    torso = _torso_colour((out / "person.png").read_bytes(), (out / "densepose_iuv.png").read_bytes())
    assert torso[1] > torso[0] + 40 and torso[1] > torso[2] + 40


def test_cli_names_bad_arguments(tmp_path: Path) -> None:
    _write_avatar(tmp_path / "avatar")
    runner = CliRunner()
    unknown = runner.invoke(cli.app, ["avatar", "bundle", str(uuid.uuid4()), "--out", str(tmp_path / "o")])
    assert unknown.exit_code == 2 and "no avatar with id" in unknown.output
    size = runner.invoke(cli.app, ["avatar", "bundle", str(tmp_path / "avatar"), "--out", str(tmp_path / "o"),
                                   "--size", "100x100"])
    assert size.exit_code == 2 and "--size" in size.output and "768x1024" in size.output
    bad_pose = tmp_path / "pose.json"
    bad_pose.write_text(json.dumps([[0.0, 0.0, 0.0]] * 10))
    pose = runner.invoke(cli.app, ["avatar", "bundle", str(tmp_path / "avatar"), "--out", str(tmp_path / "o"),
                                   "--pose", str(bad_pose)])
    assert pose.exit_code == 2 and "55 x 3" in pose.output
    assert not (tmp_path / "o").exists()  # nothing written on a failed request


def test_cli_bundles_the_astronaut_photo_avatar(tmp_path: Path) -> None:
    """Issue 5's scenario: an avatar whose skin tone and face texture come from
    ``frontal_female_astronaut_collins.png`` (the real face pipeline), bundled by the CLI."""
    from avatar.face.analysis import analyze_face
    from avatar.face.likeness import default_anny, fit_anny_likeness
    from avatar.face.photo import load_photo
    from avatar.face.skintone import measure_skin_tone
    from avatar.face.texture import build_face_texture

    rgb = load_photo((DATA / "faces" / "frontal_female_astronaut_collins.png").read_bytes())[0]
    face = analyze_face(rgb)
    tone = measure_skin_tone(rgb, face.landmarks_px)
    model: Any = default_anny()
    with torch.no_grad():
        rest = model()["rest_vertices"][0].double().numpy()
    likeness = fit_anny_likeness(face.normalized_landmarks(), model, rest)
    texture = build_face_texture(rgb, face, likeness, tone, rest + likeness.offsets, model.faces.numpy(),
                                 model.texture_coordinates.double().numpy(),
                                 model.face_texture_coordinate_indices.numpy(), size=512)
    png = io.BytesIO()
    Image.fromarray(texture).save(png, format="PNG")
    _write_avatar(tmp_path / "avatar", texture_png=png.getvalue())
    out = tmp_path / "bundle"
    result = CliRunner().invoke(cli.app, ["avatar", "bundle", str(tmp_path / "avatar"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(BUNDLE_FILES)
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    assert validate_bundle_files(files) == []
    assert json.loads(files["bundle_report.json"])["passed"] is True
    # The photo's face is on the head: far more detail there than on the evenly toned torso.
    person = np.asarray(Image.open(out / "person.png").convert("L")).astype(float)
    part = np.asarray(Image.open(out / "densepose_iuv.png"))[..., 0]
    nose = json.loads(files["keypoints.json"])["pose_keypoints_2d"][0]
    x, y = int(nose[0]), int(nose[1])
    head = person[y - 25:y + 25, x - 20:x + 20][np.isin(part[y - 25:y + 25, x - 20:x + 20], (23, 24))]
    assert head.std() > 2 * person[part == 2].std()
    torso_rgb = np.asarray(Image.open(out / "person.png").convert("RGB"))[part == 2].mean(axis=0)
    assert np.linalg.norm(torso_rgb - tone.srgb) < np.linalg.norm(torso_rgb - SKIN)
