"""The renderer, camera, part labels and keypoints, on real Anny bodies rendered headless with EGL."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from PIL import Image

from avatar.render.camera import MARGIN, SIZES, frame_full_body, parse_size
from avatar.render.keypoints import COCO18_NAMES, detect
from avatar.render.mesh import Appearance, build_render_mesh
from avatar.render.parts import PROTECTED
from avatar.render.png import encode_png
from avatar.render.renderer import BACKGROUND_RGB, render
from tests.avatar.render_support import BODIES, posed_body


def _render(sex: str, shape: str, size: tuple[int, int] = (768, 1024)) -> tuple[Any, Any, Any, Any]:
    body = posed_body(sex, shape)
    mesh = build_render_mesh(body, Appearance())
    camera = frame_full_body(body.vertices, size)
    return body, mesh, camera, render(mesh, camera)


@pytest.mark.parametrize(("sex", "shape"), BODIES)
def test_camera_frames_the_whole_body_feet_at_the_bottom(sex: str, shape: str) -> None:
    _, _, camera, buf = _render(sex, shape)
    rows = np.flatnonzero(buf.silhouette.any(axis=1))
    cols = np.flatnonzero(buf.silhouette.any(axis=0))
    h, w = buf.silhouette.shape
    margin = MARGIN * h
    # The head and the feet sit at the margin (within 2 px), the body is centred left-right.
    assert abs(rows[0] - margin) <= 2 and abs((h - 1 - rows[-1]) - margin) <= 2
    assert abs(cols[0] - (w - 1 - cols[-1])) <= 2
    assert cols[0] > 0 and cols[-1] < w - 1
    assert 24.0 <= camera.focal_35mm_equiv() <= 28.0


@pytest.mark.parametrize("size", SIZES)
def test_every_size_renders_at_that_size_with_the_same_framing(size: tuple[int, int]) -> None:
    _, _, camera, buf = _render("female", "slim_tall", size)
    assert buf.color.shape == (size[1], size[0], 3)
    assert buf.parts.shape[:2] == buf.depth.shape == (size[1], size[0])
    share = buf.silhouette.mean()
    _, _, _, ref = _render("female", "slim_tall")
    assert abs(share - ref.silhouette.mean()) < 0.01  # same framing at every resolution
    assert (camera.width, camera.height) == size


def test_buffers_agree_pixel_for_pixel() -> None:
    _, _, _, buf = _render("male", "heavy_short")
    sil = buf.silhouette
    assert sil.mean() > 0.1
    assert np.array_equal(buf.depth > 0, sil)
    background = np.array([round(c * 255) for c in BACKGROUND_RGB])
    assert (np.abs(buf.color[~sil].astype(int) - background) <= 1).all()
    assert (buf.normal[~sil] == 0).all()
    normals = buf.normal[sil].astype(np.float64) / 255.0 * 2.0 - 1.0
    lengths = np.linalg.norm(normals, axis=1)
    assert np.median(np.abs(lengths - 1.0)) < 0.02
    # A frontal view: most visible normals face the camera (+z in OpenGL camera axes).
    assert np.median(normals[:, 2]) > 0.5


def test_densepose_parts_follow_the_bodys_own_left_and_right() -> None:
    _, _, _, buf = _render("female", "heavy_short")
    part = buf.part
    cols = {p: np.argwhere(part == p)[:, 1].mean() for p in (3, 4, 5, 6, 23, 24)}
    # The body's right hand (3), foot (6) and head side (23) appear on the image's left.
    assert cols[3] < cols[4] and cols[6] < cols[5] and cols[23] < cols[24]
    # A frontal view sees the torso's front (2), hardly its back (1).
    assert (part == 2).sum() > 20 * (part == 1).sum()
    uv = buf.parts[..., 1:3][part > 0]
    assert uv.min() >= 0 and uv.max() <= 255 and uv.std(axis=0).min() > 30  # charts span their range


@pytest.mark.parametrize(("sex", "shape"), BODIES)
def test_keypoints_are_visible_and_in_anatomical_order(sex: str, shape: str) -> None:
    body, _, camera, buf = _render(sex, shape)
    kps = detect(body, camera, buf)
    visible = {n for n in COCO18_NAMES if kps.get(n) is not None}
    assert visible == set(COCO18_NAMES)  # a frontal A-pose shows all 18
    y = {n: kps.get(n)[1] for n in visible}  # type: ignore[index]
    x = {n: kps.get(n)[0] for n in visible}  # type: ignore[index]
    assert y["nose"] < y["neck"] < y["right_hip"] < y["right_knee"] < y["right_ankle"]
    assert y["left_eye"] < y["nose"] and y["left_shoulder"] < y["left_elbow"] < y["left_wrist"]
    assert x["right_shoulder"] < x["neck"] < x["left_shoulder"] and x["right_ear"] < x["nose"] < x["left_ear"]
    # BODY_25 heels sit behind the feet in a frontal view: the depth test must hide them.
    flat = kps.body25()
    assert len(flat) == 75 and flat[21 * 3 + 2] == 0.0 and flat[24 * 3 + 2] == 0.0
    assert flat[19 * 3 + 2] == 1.0 and flat[22 * 3 + 2] == 1.0  # big toes are in view


def test_garment_flags_protect_hands_head_and_feet() -> None:
    _, _, _, buf = _render("male", "slim_tall")
    protected = (buf.flags & PROTECTED) > 0
    for dp_part in (3, 4, 5, 6, 23, 24):
        assert protected[buf.part == dp_part].mean() > 0.95
    assert not protected[np.isin(buf.part, (2, 9, 10, 15, 16))].any()
    # The frontal view sees every DensePose part but the torso's back.
    assert set(np.unique(buf.part)) - {0} >= set(range(2, 25))


def test_parse_size_names_the_allowed_sizes() -> None:
    assert parse_size("384x512") == (384, 512)
    with pytest.raises(ValueError, match="384x512, 768x1024, 1152x1536"):
        parse_size("800x600")
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_size("big")


def test_missing_egl_names_the_debian_packages() -> None:
    """With no EGL vendor library (what a machine without libegl-mesa0 looks like), the error says
    which packages to install."""
    env = {**os.environ, "__EGL_VENDOR_LIBRARY_FILENAMES": "/nonexistent/egl_vendor.json"}
    code = "from avatar.render.renderer import create_egl_context; create_egl_context()"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "RendererUnavailableError" in proc.stderr
    for package in ("libegl1", "libegl-mesa0", "libgl1-mesa-dri"):
        assert package in proc.stderr


def test_concurrent_requests_share_the_render_thread() -> None:
    """Request threads of the API render at once; results match a render made alone."""
    body = posed_body("female", "slim_tall")
    mesh = build_render_mesh(body, Appearance())
    camera = frame_full_body(body.vertices, (384, 512))
    alone = render(mesh, camera)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: render(mesh, camera), range(4)))
    for result in results:
        assert np.array_equal(result.parts, alone.parts) and np.array_equal(result.depth, alone.depth)


@pytest.mark.parametrize(
    ("dtype", "shape", "mode"),
    [(np.uint8, (7, 5), "L"), (np.uint8, (7, 5, 3), "RGB"), (np.uint8, (7, 5, 4), "RGBA"),
     (np.uint16, (7, 5), "I;16")],
)
def test_png_encoder_round_trips_through_pil(dtype: Any, shape: tuple[int, ...], mode: str) -> None:
    rng = np.random.default_rng(0)
    full = rng.integers(0, np.iinfo(dtype).max, size=(shape[0], shape[1] + 2, *shape[2:]), dtype=dtype)
    image = full[:, 1:-1]  # a strided view, as the renderer's channel slices are
    with Image.open(io.BytesIO(encode_png(image))) as decoded:
        assert decoded.mode == mode
        assert np.array_equal(np.asarray(decoded), image)
    with pytest.raises(ValueError, match="dtype must be uint8 or uint16"):
        encode_png(image.astype(np.float32))  # type: ignore[arg-type]
