"""Face gates on real photos and honestly degraded copies of them, plus pose and skin tone."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar.face.analysis import analyze_face, detect_faces, head_pose, measure_face
from avatar.face.photo import load_photo
from avatar.face.quality import DEFAULT_THRESHOLDS, PhotoRejected, check_face
from avatar.face.skintone import CHEEK_RIGHT, MONK_HEX, measure_skin_tone, srgb_to_lab

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
FRONTAL = ["frontal_female_astronaut_collins.png", "frontal_male_luciano.png"]


def _photo(name: str) -> np.ndarray:
    return load_photo((FACES / name).read_bytes())[0]


def _code(rgb: np.ndarray) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as err:
        analyze_face(np.ascontiguousarray(rgb))
    return err.value


@pytest.mark.parametrize("name", FRONTAL)
def test_frontal_photos_pass_every_gate(name: str) -> None:
    face = analyze_face(_photo(name))
    assert face.landmarks_px.shape == (478, 3)
    assert face.inter_ocular_px >= DEFAULT_THRESHOLDS.min_inter_ocular_px
    assert abs(face.pose.yaw) < 10 and abs(face.pose.roll) < 10
    x0, y0, x1, y1 = face.box
    assert 0 <= x0 < x1 <= face.image_size[0] and 0 <= y0 < y1 <= face.image_size[1]
    norm = face.normalized_landmarks()
    assert np.linalg.norm(norm[473, :2] - norm[468, :2]) == pytest.approx(1.0)
    assert norm[10, 1] > norm[152, 1], "forehead above chin once y points up"


def test_rocket_has_no_face() -> None:
    err = _code(_photo("noface_rocket.jpg"))
    assert err.code == "no_face"
    assert err.body()["error"]["details"] == {"faces": 0}


def test_two_photos_side_by_side_are_multiple_faces() -> None:
    left, right = _photo(FRONTAL[0]), _photo(FRONTAL[1])
    right = cv2.resize(right, (left.shape[1], left.shape[0]))
    err = _code(np.concatenate([left, right], axis=1))
    assert err.code == "multiple_faces"
    assert err.details["faces"] == 2
    assert "2 faces" in err.message


@pytest.mark.parametrize("name", FRONTAL)
def test_downscaled_face_is_too_small(name: str) -> None:
    rgb = _photo(name)
    small = cv2.resize(rgb, None, fx=0.55, fy=0.55, interpolation=cv2.INTER_AREA)
    err = _code(small)
    assert err.code == "face_too_small"
    assert err.details["inter_ocular_px"] < DEFAULT_THRESHOLDS.min_inter_ocular_px


@pytest.mark.parametrize("name", FRONTAL)
def test_blurred_face_is_too_blurry(name: str) -> None:
    err = _code(cv2.GaussianBlur(_photo(name), (0, 0), 2.0))
    assert err.code == "too_blurry"
    assert err.details["sharpness"] < err.details["min_sharpness"]


def _rotated(landmarks: np.ndarray, axis: str, degrees: float) -> np.ndarray:
    """The measured 3D landmarks turned rigidly about their centre: a real face geometry, turned."""
    t = np.radians(degrees)
    c, s = np.cos(t), np.sin(t)
    rot = {"y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
           "x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]])}
    centre = landmarks.mean(axis=0)
    return (landmarks - centre) @ rot[axis].T + centre


@pytest.mark.parametrize("name", FRONTAL)
def test_turned_face_is_not_frontal(name: str) -> None:
    rgb = _photo(name)
    face = measure_face(rgb, detect_faces(rgb)[0])
    for axis, key in (("y", "yaw"), ("x", "pitch")):
        turned = head_pose(_rotated(face.landmarks_px, axis, 40.0))
        change = abs(getattr(turned, key) - getattr(face.pose, key))
        assert 30 < change < 50, f"{key} should follow a 40° turn, moved {change:.1f}°"
        with pytest.raises(PhotoRejected) as err:
            check_face(inter_ocular_px=face.inter_ocular_px, yaw_deg=turned.yaw, pitch_deg=turned.pitch,
                       sharpness=face.sharpness)
        assert err.value.code == "not_frontal"


@pytest.mark.parametrize("name", FRONTAL)
def test_skin_tone_is_plausible_and_white_balance_helps(name: str) -> None:
    rgb = _photo(name)
    face = analyze_face(rgb)
    tone = measure_skin_tone(rgb, face.landmarks_px)
    assert 40 < tone.lab[0] < 95 and tone.lab[1] > 0, "human skin is mid-to-light and reddish"
    assert 1 <= tone.monk <= 10 and tone.monk_hex == MONK_HEX[tone.monk - 1]
    assert tone.ita_deg == pytest.approx(np.degrees(np.arctan2(tone.lab[0] - 50, tone.lab[2])))
    # A blue colour cast over the whole photo: the correction must undo part of it.
    cast = np.clip(rgb.astype(np.float64) * np.array([0.85, 0.95, 1.15]), 0, 255).astype(np.uint8)
    cast_tone = measure_skin_tone(cast, face.landmarks_px)
    cheek = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(cheek, [np.round(face.landmarks_px[CHEEK_RIGHT, :2]).astype(np.int32)], (1,))
    raw_cast = np.median(srgb_to_lab(cast[cheek.astype(bool)] / 255.0), axis=0)
    assert abs(cast_tone.lab[2] - tone.lab[2]) < abs(raw_cast[2] - tone.lab[2])


def _texture_inputs(name: str) -> tuple:
    """Everything :func:`build_appearance` takes for a photo on the neutral Anny body."""
    import torch

    from avatar.face.likeness import default_anny, fit_anny_likeness

    rgb = _photo(name)
    face = analyze_face(rgb)
    skin = measure_skin_tone(rgb, face.landmarks_px)
    model = default_anny()
    with torch.no_grad():
        rest = model()["rest_vertices"][0].double().numpy()
    likeness = fit_anny_likeness(face.normalized_landmarks(), model, rest)
    mesh = (model.faces.numpy(), model.texture_coordinates.double().numpy(),
            model.face_texture_coordinate_indices.numpy())
    return rgb, face, likeness, skin, rest + likeness.offsets, *mesh


@pytest.mark.parametrize("name", FRONTAL)
def test_face_blends_into_the_head_without_a_seam(name: str) -> None:
    """The colour step across the face's edge in UV space, before (feathered alpha into the measured
    tone) and after (Poisson blend into skin taken from the face texture, hair kept off): lower after, and
    below 2 ΔE*ab, about what a viewer can just notice side by side."""
    from avatar.face.hair import analyze_hair
    from avatar.face.texture import build_appearance

    args = _texture_inputs(name)
    before = build_appearance(*args, blend="feather")
    after = build_appearance(*args, hair_mask=analyze_hair(args[0], args[1], args[3]).mask)
    assert after.seam_delta_e < before.seam_delta_e
    assert after.seam_delta_e < 2.0
    # The rest of the body wears the face's own skin: within a few ΔE of the measured tone.
    body_lab = srgb_to_lab(np.array(after.skin_srgb) / 255.0)
    assert np.linalg.norm(body_lab - np.array(args[3].lab)) < 15


def test_eyes_come_from_a_sharp_photo_and_are_painted_otherwise() -> None:
    from avatar.body.models.anny_backend import AnnyBody
    from avatar.face.analysis import measure_face
    from avatar.face.texture import PAINTED, build_appearance, eyes_from_photo

    rgb, face, likeness, skin, vertices, faces, uv, face_uv = _texture_inputs(FRONTAL[1])
    labels = np.asarray(AnnyBody(local_changes=()).part_labels)
    eyeballs = {j: np.flatnonzero(labels == j) for j in (23, 24)}
    assert eyes_from_photo(face), "open eyes with irises over 8 px across"
    photo_eyes = build_appearance(rgb, face, likeness, skin, vertices, faces, uv, face_uv, eyeballs=eyeballs)
    assert photo_eyes.eyes == "photo"
    # A smaller copy of the same photo: irises too small to carry detail.
    small = cv2.resize(rgb, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    small_face = measure_face(small, detect_faces(small)[0])
    assert not eyes_from_photo(small_face)
    # A closed eye (the lids' landmarks moved together) is not taken either.
    closed = face.landmarks_px.copy()
    closed[[159, 386], 1] = closed[[145, 374], 1]
    assert not eyes_from_photo(measure_face(rgb, closed))
    painted = build_appearance(small, small_face, likeness, skin, vertices, faces, uv, face_uv,
                               eyeballs=eyeballs)
    assert painted.eyes == "painted"
    # The painted texture holds the painted iris colour on the eyeballs; the photo's does not.
    iris = np.array(PAINTED["iris"])
    assert (np.abs(painted.texture.astype(int) - iris).sum(axis=2) == 0).sum() > 20
    assert (np.abs(photo_eyes.texture.astype(int) - iris).sum(axis=2) == 0).sum() == 0
