"""The try-on bundle: everything an image try-on generator reads, rendered exactly from the 3D body.

``render_bundle`` makes the images in memory and checks them; ``write_bundle`` writes the files:

=====================  ==========================================================================
file                   content
=====================  ==========================================================================
person.png             RGB, the avatar lit softly on a plain light-grey background
mask_upper.png         8-bit L, 255 = torso and arms (what an upper-body garment replaces)
mask_lower.png         8-bit L, 255 = hips and legs
mask_dress.png         8-bit L, 255 = both
keypoints.json         ``pose_keypoints_2d`` (COCO-18, OOTDiffusion) and ``body_25`` (OpenPose)
densepose.png          RGB, detectron2 ``dp_segm`` style as IDM-VTON / StableVITON read it:
                       ``COLORMAP_PARULA(I * 255 / 24)`` per pixel, black background
densepose_iuv.png      RGB, raw DensePose IUV: R = part index I (1–24), G = U * 255, B = V * 255
depth.png              16-bit, millimetres along the optical axis, 0 = background
normal.png             RGB, camera-space normal (OpenGL axes) as (n + 1) / 2 * 255, 0 = background
camera.json            intrinsics, extrinsics, image size and axis conventions
params.json            copied from the avatar
bundle_report.json     the checks below, as numbers
=====================  ==========================================================================

Masks are the garment regions of :mod:`avatar.render.parts` dilated by about 0.7 % of the image
height (5 px at 768x1024, as generators expect a margin), then clipped to the silhouette and with the
hands, the head, the hair and the feet removed, so they never leave the body and never cover those
parts. Hair (when the avatar has it) is drawn in ``person.png``.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from avatar.render import keypoints as kp
from avatar.render.camera import DEFAULT_SIZE, Camera, frame_full_body
from avatar.render.mesh import Appearance, PosedBody, build_render_mesh
from avatar.render.parts import DENSEPOSE_PART_NAMES, LOWER, PROTECTED, UPPER
from avatar.render.png import write_png
from avatar.render.renderer import RenderBuffers, render

log = logging.getLogger(__name__)

Category = Literal["upper", "lower", "dress"]
CATEGORIES: tuple[Category, ...] = ("upper", "lower", "dress")
DILATION_SHARE = 0.005  # of the image height; 5 px at 1024
BUNDLE_FILES: tuple[str, ...] = (
    "person.png", "mask_upper.png", "mask_lower.png", "mask_dress.png", "keypoints.json", "densepose.png",
    "densepose_iuv.png", "depth.png", "normal.png", "camera.json", "params.json", "bundle_report.json",
)  # fmt: skip
IMAGE_FILES: tuple[str, ...] = (
    "person.png", "mask_upper.png", "mask_lower.png", "mask_dress.png", "densepose.png", "densepose_iuv.png",
    "depth.png", "normal.png",
)  # fmt: skip
# The keypoints each garment mask must hold: a mask that misses them would not cover the garment.
MASK_KEYPOINTS: dict[str, tuple[str, ...]] = {
    "upper": ("right_shoulder", "left_shoulder", "right_elbow", "left_elbow"),
    "lower": ("right_hip", "left_hip", "right_knee", "left_knee"),
}


@dataclass
class Bundle:
    """One rendered bundle, in memory; every image is (H, W[, C]) with row 0 at the top."""

    camera: Camera
    buffers: RenderBuffers
    person: NDArray[np.uint8]
    masks: dict[str, NDArray[np.uint8]]
    keypoints: kp.Keypoints
    densepose: NDArray[np.uint8]
    densepose_iuv: NDArray[np.uint8]
    depth_mm: NDArray[np.uint16]
    report: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)


def soften_outline(color: NDArray[np.uint8], silhouette: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """The person image with its outline anti-aliased: the one-pixel band on either side of the
    silhouette edge takes a 3x3 average, so the body does not stand out against the background with
    staircase edges (the render itself is not multisampled, to keep labels and depth exact)."""
    sil = silhouette.astype(np.uint8)
    square = np.ones((3, 3), np.uint8)
    band = cv2.dilate(sil, square) != cv2.erode(sil, square)
    out = color.copy()
    out[band] = cv2.blur(out, (3, 3))[band]
    return out


def garment_masks(buffers: RenderBuffers) -> dict[str, NDArray[np.uint8]]:
    """The upper, lower and dress masks (uint8, 255 inside), dilated within the silhouette."""
    height = buffers.part.shape[0]
    radius = max(2, round(DILATION_SHARE * height))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    flags = buffers.flags
    allowed = buffers.silhouette & ((flags & PROTECTED) == 0)
    upper = cv2.dilate(((flags & UPPER) > 0).astype(np.uint8), kernel) > 0
    lower = cv2.dilate(((flags & LOWER) > 0).astype(np.uint8), kernel) > 0
    out: dict[str, NDArray[np.uint8]] = {}
    for name, region in (("upper", upper), ("lower", lower), ("dress", upper | lower)):
        out[name] = (allowed & region).astype(np.uint8) * np.uint8(255)
    return out


def _parula_lut() -> NDArray[np.uint8]:
    """(256, 1, 3) RGB colour of each DensePose part index as detectron2's ``dp_segm`` draws it
    (``COLORMAP_PARULA`` of I * 255 / 24); 0 and anything above 24 are black."""
    scaled = (np.arange(25, dtype=np.uint16) * 255 // 24).astype(np.uint8)[:, None]
    parula = cv2.applyColorMap(scaled, cv2.COLORMAP_PARULA)[:, 0, ::-1]  # OpenCV gives BGR
    lut = np.zeros((256, 1, 3), dtype=np.uint8)
    lut[1:25, 0] = parula[1:]
    return lut


DENSEPOSE_LUT = _parula_lut()


def densepose_images(buffers: RenderBuffers) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """(IDM-VTON colour image, raw IUV image), both RGB uint8 with a black background."""
    colour = np.asarray(cv2.applyColorMap(np.ascontiguousarray(buffers.part), DENSEPOSE_LUT), dtype=np.uint8)
    return colour, buffers.parts[..., :3]


def render_bundle(
    body: PosedBody, appearance: Appearance | None = None, size: tuple[int, int] = DEFAULT_SIZE
) -> Bundle:
    """Frame, render and check one posed body. Raises ValueError for an unusable body or size."""
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    mesh = build_render_mesh(body, appearance or Appearance())
    t1 = time.perf_counter()
    camera = frame_full_body(body.vertices, size)
    t2 = time.perf_counter()
    buffers = render(mesh, camera)
    t3 = time.perf_counter()
    keypoints = kp.detect(body, camera, buffers)
    masks = garment_masks(buffers)
    densepose, iuv = densepose_images(buffers)
    depth_mm = np.clip(np.rint(buffers.depth * 1000.0), 0, 65535).astype(np.uint16)
    person = soften_outline(buffers.color, buffers.silhouette)
    t4 = time.perf_counter()
    times = {"labels_ms": t1 - t0, "camera_ms": t2 - t1, "render_ms": t3 - t2, "derive_ms": t4 - t3}
    bundle = Bundle(camera, buffers, person, masks, keypoints, densepose, iuv, depth_mm,
                    timings_ms={k: round(v * 1000, 2) for k, v in times.items()})
    bundle.report = check_bundle(bundle, size)
    bundle.timings_ms["check_ms"] = round((time.perf_counter() - t4) * 1000, 2)
    return bundle


def _inside(mask: NDArray[np.uint8], point: tuple[float, float] | None) -> bool:
    if point is None:
        return False
    col, row = int(np.floor(point[0])), int(np.floor(point[1]))
    h, w = mask.shape
    return 0 <= col < w and 0 <= row < h and bool(mask[row, col] > 0)


def check_bundle(bundle: Bundle, size: tuple[int, int]) -> dict[str, Any]:
    """The bundle's consistency checks as numbers, plus ``passed`` (all of them hold).

    The silhouette is the colour target's coverage; DensePose labels, depth and masks come from the
    other targets and images, so each check compares two independently written buffers.
    """
    buffers, masks = bundle.buffers, bundle.masks
    sil = buffers.silhouette
    n_sil = int(np.count_nonzero(sil))
    w, h = size
    images: dict[str, NDArray[Any]] = {
        "person": bundle.person, **{f"mask_{k}": v for k, v in masks.items()},
        "densepose": bundle.densepose, "depth": bundle.depth_mm, "normal": buffers.normal,
    }
    sizes_ok = all(img.shape[1] == w and img.shape[0] == h for img in images.values())
    protected = (buffers.flags & PROTECTED) > 0
    mask_report = {}
    for name, mask in masks.items():
        on = mask > 0
        n = int(np.count_nonzero(on))
        mask_report[name] = {
            "pixels": n,
            "share_of_silhouette": round(n / max(n_sil, 1), 4),
            "share_inside_silhouette": round(np.count_nonzero(on & sil) / n, 4) if n else 0.0,
            "protected_pixels_covered": int(np.count_nonzero(on & protected)),
        }
    held = {
        region: {name: _inside(masks[region], bundle.keypoints.get(name)) for name in names}
        for region, names in MASK_KEYPOINTS.items()
    }
    nose = bundle.keypoints.get("nose")
    nose_part = int(buffers.part[int(nose[1]), int(nose[0])]) if nose else 0
    nose_report = {"visible": nose is not None, "densepose_part": nose_part, "in_face": nose_part in (23, 24),
                   "covered_by_a_mask": any(_inside(m, nose) for m in masks.values())}
    hair = buffers.hair
    hair_report = {"pixels": int(np.count_nonzero(hair)),
                   "covered_by_a_mask": int(sum(np.count_nonzero((m > 0) & hair) for m in masks.values()))}
    dp_on = (buffers.part >= 1) & (buffers.part <= 24)
    counts = np.bincount(buffers.part.ravel(), minlength=25)
    depth_on = bundle.depth_mm > 0
    report: dict[str, Any] = {
        "image_size": {"width": w, "height": h, "all_images_match": sizes_ok},
        "silhouette_pixels": n_sil,
        "masks": mask_report,
        "keypoints_in_masks": held,
        "nose": nose_report,
        "hair": hair_report,
        "densepose": {
            "coverage_of_silhouette": round(np.count_nonzero(dp_on & sil) / max(n_sil, 1), 4),
            "pixels_outside_silhouette": int(np.count_nonzero(dp_on & ~sil)),
            "parts_present": [int(p) for p in np.flatnonzero(counts[1:]) + 1],
            "parts_not_in_view": [name for p, name in DENSEPOSE_PART_NAMES.items() if counts[p] == 0],
        },
        "depth": {
            "finite_pixels": int(np.count_nonzero(depth_on)),
            "mismatch_with_silhouette": int(np.count_nonzero(depth_on ^ sil)),
            "min_mm": int(bundle.depth_mm[depth_on].min()) if depth_on.any() else 0,
            "max_mm": int(bundle.depth_mm[depth_on].max()) if depth_on.any() else 0,
        },
        "keypoints_visible": int(np.count_nonzero(bundle.keypoints.visible)),
    }
    report["passed"] = bool(
        sizes_ok
        and n_sil > 0
        and all(m["pixels"] > 0 and m["share_inside_silhouette"] == 1.0 and m["protected_pixels_covered"] == 0
                for m in mask_report.values())
        and all(all(v.values()) for v in held.values())
        and nose_report["in_face"] and not nose_report["covered_by_a_mask"]
        and hair_report["covered_by_a_mask"] == 0
        and report["densepose"]["coverage_of_silhouette"] == 1.0
        and report["densepose"]["pixels_outside_silhouette"] == 0
        and report["depth"]["mismatch_with_silhouette"] == 0
    )
    return report


def write_bundle(bundle: Bundle, out_dir: Path, params: Path | dict[str, Any] | None = None) -> list[Path]:
    """Write every bundle file into ``out_dir`` (created if needed); returns the paths written.

    ``params`` is the avatar's ``params.json`` (copied byte for byte) or a dict to write as JSON.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    images: dict[str, NDArray[Any]] = {
        "person.png": bundle.person, "densepose.png": bundle.densepose,
        "densepose_iuv.png": bundle.densepose_iuv, "normal.png": bundle.buffers.normal,
        "depth.png": bundle.depth_mm,
        **{f"mask_{category}.png": mask for category, mask in bundle.masks.items()},
    }
    # zlib releases the GIL, so the images compress in parallel.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda item: write_png(out_dir / item[0], item[1]), images.items()))
    (out_dir / "keypoints.json").write_text(json.dumps(bundle.keypoints.to_json()))
    (out_dir / "camera.json").write_text(json.dumps(bundle.camera.to_json(), indent=1))
    if isinstance(params, Path):
        shutil.copyfile(params, out_dir / "params.json")
    else:
        (out_dir / "params.json").write_text(json.dumps(params or {}, indent=1))
    (out_dir / "bundle_report.json").write_text(json.dumps(bundle.report, indent=1))
    return [out_dir / name for name in BUNDLE_FILES]
