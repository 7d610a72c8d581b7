"""Exports reopen in trimesh, pygltflib and smplcodec with the data that went in."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pygltflib
import pytest
import torch
import trimesh
from PIL import Image

from avatar.body import export, loops
from avatar.body.fitting import BodyFitter
from avatar.body.measurements import parse_measurements
from avatar.body.models import create
from avatar.create import FaceInput, create_avatar
from avatar.types import BodyParams, FitResult


def test_create_avatar_files_reopen(tmp_path: Path) -> None:
    measurements = parse_measurements(
        {"stature_cm": 168.0, "body_mass_kg": 63.0, "waist_girth_cm": 76.0}, sex="female", age_years=31
    )
    summary = create_avatar(measurements, tmp_path / "out")
    out = tmp_path / "out"
    assert summary["files"] == {"glb": "mesh.glb", "obj": "mesh.obj", "params": "params.json"}

    mesh: trimesh.Trimesh = trimesh.load(out / "mesh.glb", force="mesh")  # type: ignore[assignment]
    obj: trimesh.Trimesh = trimesh.load(out / "mesh.obj", force="mesh", process=False)  # type: ignore[assignment]
    assert len(mesh.vertices) == len(obj.vertices) > 10000
    assert mesh.vertices[:, 1].min() == pytest.approx(0.0, abs=1e-6)  # feet on the floor
    assert mesh.vertices[:, 1].max() * 100 == pytest.approx(168.0, abs=1.5)  # a_pose keeps the height

    gltf = pygltflib.GLTF2().load(str(out / "mesh.glb"))
    assert gltf.asset.version == "2.0"
    factor = gltf.materials[0].pbrMetallicRoughness.baseColorFactor
    assert [round(c * 255) for c in factor[:3]] == list(export.DEFAULT_SKIN_RGB)

    params = json.loads((out / "params.json").read_text())
    assert params["backend"] == "anny" and params["backend_version"].startswith("anny ")
    assert len(params["pose"]["values"]) == 55
    waist = params["measurements"]["waist_girth_cm"]
    assert waist["target"] == 76.0 and abs(waist["achieved"] - 76.0) < 0.9
    assert (
        params["measurements"]["hip_girth_cm"]["predicted"]["lo"]
        < params["measurements"]["hip_girth_cm"]["predicted"]["hi"]
    )


def test_textured_glb_carries_uvs_and_image(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 150, 120)).save(buffer, format="PNG")
    measurements = parse_measurements({"stature_cm": 180.0, "body_mass_kg": 80.0}, sex="male")
    face = FaceInput(skin_rgb=(180, 120, 90), texture_png=buffer.getvalue())
    create_avatar(measurements, tmp_path, pose="t_pose", face=face)
    gltf = pygltflib.GLTF2().load(str(tmp_path / "mesh.glb"))
    assert len(gltf.images) == 1 and len(gltf.textures) == 1
    assert gltf.meshes[0].primitives[0].attributes.TEXCOORD_0 is not None


def test_smpl_file_round_trips_through_smplcodec(tmp_path: Path) -> None:
    from smplcodec import SMPLCodec

    pose = tuple((0.1 * i, 0.0, -0.05 * i) for i in range(55))
    shape = {f"beta_{i}": 0.1 * i for i in range(10)} | {f"expression_{i}": -0.02 * i for i in range(10)}
    fit = FitResult(
        params=BodyParams(backend="smplx", shape=shape, pose=pose, sex="female", transl=(0.0, 1.1, 0.0)),
        target={}, predicted={}, achieved={}, iterations=0, seconds=0.0,
    )  # fmt: skip
    export.write_smpl(tmp_path / "body.smpl", fit, num_betas=10)
    codec = SMPLCodec.from_file(str(tmp_path / "body.smpl"))
    assert np.allclose(codec.shape_parameters, [0.1 * i for i in range(10)], atol=1e-6)
    assert np.allclose(codec.full_pose[0], np.array(pose), atol=1e-6)
    assert np.allclose(codec.expression_parameters[0], [-0.02 * i for i in range(10)], atol=1e-6)
    with pytest.raises(ValueError, match="backend"):
        export.write_smpl(
            tmp_path / "x.smpl", FitResult(BodyParams("anny", {}, pose), {}, {}, {}, 0, 0.0), num_betas=10
        )


def test_params_document_records_target_predicted_achieved() -> None:
    body = create("anny")
    target = {"stature_cm": 175.0, "body_mass_kg": 75.0}
    fit = BodyFitter(body).fit(
        loops.template_loops(body, "male"), target, {"waist_girth_cm": (85.0, 80.0, 90.0)}, sex="male"
    )
    doc = export.params_document(fit, body.version)
    json.dumps(doc)
    assert doc["measurements"]["stature_cm"]["target"] == 175.0
    assert doc["measurements"]["waist_girth_cm"]["predicted"] == {"mean": 85.0, "lo": 80.0, "hi": 90.0}
    assert doc["measurements"]["neck_girth_cm"]["achieved"] > 20.0
    assert set(doc["parameters"]) == set(body.shape_names)
    assert torch.is_tensor(body.faces)


def test_hair_is_its_own_glb_node_and_material(tmp_path: Path) -> None:
    """The viewer can switch the hair off: a node and material of its own; the body stays first and
    keeps its vertices, so whatever measures the body's node measures the body alone."""
    from avatar.face.hair_mesh import HairStyle, build_hair_mesh
    from avatar.render.source import appearance_from_glb

    body = create("anny", "female")
    with torch.no_grad():
        out = body.forward(body.default_shape("female")[None])
    vertices, faces = out.vertices[0].double().numpy(), out.faces.numpy()
    style = HairStyle("medium", (90, 60, 40), hairline_iod=0.9, top_iod=2.0, side_iod=1.6, bottom_iod=1.8)
    hair = build_hair_mesh(vertices, out.part_labels.numpy(), out.joints[0].double().numpy(), style)
    path = export.write_glb(tmp_path / "mesh.glb", vertices, faces, skin_rgb=(200, 160, 140), hair=hair)
    gltf = pygltflib.GLTF2().load(str(path))
    assert sorted(n.name for n in gltf.nodes if n.mesh is not None) == ["body", "hair"]
    assert [m.name for m in gltf.materials][1:] == ["hair"]
    assert gltf.materials[1].pbrMetallicRoughness.baseColorTexture is not None
    scene = trimesh.load(path, force="scene")
    assert len(scene.geometry["body"].vertices) == len(vertices)
    assert len(scene.geometry["hair"].vertices) == len(hair.vertices)
    skin = appearance_from_glb(path, body).skin_rgb
    assert np.allclose(np.array(skin) * 255, (200, 160, 140), atol=1)
