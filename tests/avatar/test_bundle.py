"""The try-on bundle on real Anny bodies: every file, every check of issue 5, read back from disk."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from avatar.render.bundle import BUNDLE_FILES, MASK_KEYPOINTS, render_bundle, write_bundle
from avatar.render.camera import SIZES
from avatar.render.keypoints import COCO18_NAMES
from avatar.render.tryon import read_bundle, validate_bundle_files
from tests.avatar.render_support import BODIES, posed_body


def _load(folder: Path, name: str) -> np.ndarray:
    with Image.open(folder / name) as img:
        return np.asarray(img)


def _at(image: np.ndarray, point: list[float]) -> int:
    return int(image[int(np.floor(point[1])), int(np.floor(point[0]))])


def _check_folder(folder: Path, size: tuple[int, int]) -> None:
    """Every check of the issue, recomputed from the written files (not from the report)."""
    w, h = size
    for name in BUNDLE_FILES:
        assert (folder / name).is_file(), name
    person = _load(folder, "person.png")
    depth = _load(folder, "depth.png")
    densepose = _load(folder, "densepose.png")
    iuv = _load(folder, "densepose_iuv.png")
    normal = _load(folder, "normal.png")
    masks = {c: _load(folder, f"mask_{c}.png") for c in ("upper", "lower", "dress")}
    for img in (person, depth, densepose, iuv, normal, *masks.values()):
        assert img.shape[:2] == (h, w)
    assert person.dtype == np.uint8 and person.shape[2] == 3
    with Image.open(folder / "depth.png") as depth_img:
        assert depth_img.mode == "I;16"
    silhouette = iuv[..., 0] > 0
    # Depth is finite (non-zero) exactly on the silhouette, and in a plausible range of millimetres.
    assert np.array_equal(depth > 0, silhouette)
    assert 500 < depth[silhouette].min() < depth[silhouette].max() < 5000
    # DensePose indices cover the silhouette and nothing else, in 1-24; the colour image agrees.
    assert iuv[..., 0].max() <= 24
    assert np.array_equal(densepose.any(axis=2), silhouette)
    # Every mask is non-empty, 8-bit 0/255, inside the silhouette, off the hands, face and feet.
    protected = np.isin(iuv[..., 0], (3, 4, 5, 6, 23, 24))
    for category, mask in masks.items():
        assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}, category
        assert (mask > 0).sum() > 0.05 * silhouette.sum(), category
        assert not (mask > 0)[~silhouette].any(), category
        assert not (mask > 0)[protected].any(), category
    assert np.array_equal(masks["dress"] > 0, (masks["upper"] > 0) | (masks["lower"] > 0))
    # The person sits on the light-grey background (the outline's one-pixel band is anti-aliased).
    near = cv2.dilate(silhouette.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert (person[~near] == person[0, 0]).all() and person[0, 0].min() > 200
    band = near & ~silhouette
    assert (person[band] != person[0, 0]).any(axis=1).mean() > 0.5
    kps = json.loads((folder / "keypoints.json").read_text())
    pose = dict(zip(COCO18_NAMES, kps["pose_keypoints_2d"], strict=True))
    assert len(kps["body_25"]) == 75
    for category, names in MASK_KEYPOINTS.items():
        for name in names:
            assert pose[name] != [0, 0] and _at(masks[category], pose[name]) == 255, (category, name)
    nose = pose["nose"]
    assert _at(iuv[..., 0], nose) in (23, 24)
    assert all(_at(m, nose) == 0 for m in masks.values())
    camera = json.loads((folder / "camera.json").read_text())
    assert (camera["image_size"]["width"], camera["image_size"]["height"]) == (w, h)
    assert validate_bundle_files(read_bundle(folder)) == []


@pytest.mark.parametrize(("sex", "shape"), BODIES)
def test_bundle_checks_hold_on_both_sexes_and_two_shapes(sex: str, shape: str, tmp_path: Path) -> None:
    bundle = render_bundle(posed_body(sex, shape))
    params = tmp_path / "avatar_params.json"
    params.write_text(json.dumps({"backend": "anny", "sex": sex, "shape": shape}))
    write_bundle(bundle, tmp_path / "bundle", params)
    _check_folder(tmp_path / "bundle", (768, 1024))
    assert (tmp_path / "bundle" / "params.json").read_bytes() == params.read_bytes()
    report = json.loads((tmp_path / "bundle" / "bundle_report.json").read_text())
    assert report["passed"] is True
    assert all(m["share_inside_silhouette"] == 1.0 for m in report["masks"].values())
    assert report["densepose"]["coverage_of_silhouette"] == 1.0
    assert report["depth"]["mismatch_with_silhouette"] == 0


@pytest.mark.parametrize("size", SIZES)
def test_bundle_at_every_size(size: tuple[int, int], tmp_path: Path) -> None:
    bundle = render_bundle(posed_body("female", "heavy_short"), size=size)
    write_bundle(bundle, tmp_path, {"backend": "anny"})
    _check_folder(tmp_path, size)
    assert bundle.report["passed"] is True


def test_masks_are_dilated_beyond_their_region() -> None:
    """The generators expect a margin: the upper mask spills a few pixels past the upper body parts."""
    bundle = render_bundle(posed_body("male", "slim_tall"))
    upper_parts = np.isin(bundle.buffers.part, (1, 2, 15, 16, 17, 18, 19, 20, 21, 22))
    spill = (bundle.masks["upper"] > 0) & ~upper_parts
    assert spill.sum() > 100


def test_person_shows_hair_that_no_mask_covers(tmp_path: Path) -> None:
    """Long dark hair: drawn in person.png, labelled as head in DensePose, outside every mask."""
    from avatar.face.hair_mesh import HairStyle, build_hair_mesh
    from avatar.render.mesh import Appearance

    body = posed_body("female", "slim_tall")
    style = HairStyle("long", (45, 32, 25), hairline_iod=0.9, top_iod=2.0, side_iod=1.6, bottom_iod=3.0)
    hair = build_hair_mesh(body.vertices, body.part_labels, body.joints, style)
    bald, haired = render_bundle(body), render_bundle(body, Appearance(hair=hair))
    assert haired.report["passed"], haired.report
    assert bald.report["hair"]["pixels"] == 0
    assert haired.report["hair"]["pixels"] > 2000 and haired.report["hair"]["covered_by_a_mask"] == 0
    write_bundle(haired, tmp_path)
    person = _load(tmp_path, "person.png")
    on_hair = haired.buffers.hair
    # Dark hair where the bald render showed background or skin.
    assert person[on_hair].mean() < 90 < bald.person[on_hair].mean()
    for category in ("upper", "lower", "dress"):
        assert not (_load(tmp_path, f"mask_{category}.png")[on_hair] > 0).any(), category
    assert set(np.unique(haired.buffers.part[on_hair])) <= {23, 24}


def test_photo_avatar_renders_with_its_fitted_head_and_hair(tmp_path: Path) -> None:
    """A stored photo avatar, re-posed for the bundle: the head is the one the photo fitted (read
    back from mesh.glb, not the plain shape of params.json), in the stored pose and in another one,
    and its hair is drawn outside every mask."""
    from avatar.body.measurements import parse_measurements
    from avatar.create import FaceInput, create_avatar
    from avatar.face.lookalike import analyze_photo
    from avatar.render.source import load_avatar

    photo = Path(__file__).resolve().parents[2] / "data" / "faces" / "frontal_female_astronaut_collins.png"
    measurements = parse_measurements({"stature_cm": 168.0, "body_mass_kg": 62.0}, sex="female")
    create_avatar(measurements, tmp_path, face=FaceInput(photo=analyze_photo(photo.read_bytes())))
    params = json.loads((tmp_path / "params.json").read_text())
    assert params["hair"]["hair_class"] and params["eyes_in_texture"] is True
    lines = (tmp_path / "mesh.obj").read_text().splitlines()
    obj_vertices = np.asarray([line.split()[1:] for line in lines if line.startswith("v ")], dtype=float)
    scene = load_avatar(tmp_path)  # a_pose, as stored
    assert np.abs(scene.body.vertices + params["translation_m"] - obj_vertices).max() < 1e-4
    t_pose = load_avatar(tmp_path, pose="t_pose")
    head = np.isin(t_pose.body.part_labels, (15, 22, 23, 24))

    def centred(v: np.ndarray) -> np.ndarray:
        return v[head] - v[head].mean(axis=0)

    # The same fitted head, only turned and moved with the pose.
    assert np.abs(np.linalg.norm(centred(t_pose.body.vertices), axis=1)
                  - np.linalg.norm(centred(obj_vertices), axis=1)).max() < 2e-3
    bundle = render_bundle(t_pose.body, t_pose.appearance)
    assert bundle.report["passed"] and bundle.report["hair"]["pixels"] > 0
