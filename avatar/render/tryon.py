"""The seam where an image try-on generator plugs in: a protocol, and a client for an HTTP service.

A generator (IDM-VTON, OOTDiffusion, CatVTON, StableVITON, FitDiT …) takes the try-on bundle of
:mod:`avatar.render.bundle` plus a garment photo and returns the dressed person. We do not ship one;
an operator deploys one behind HTTP and points :class:`HttpTryOnGenerator` at it.

Wire format of :class:`HttpTryOnGenerator` (``multipart/form-data`` POST):

* form field ``category``: ``upper``, ``lower`` or ``dress``;
* file field ``garment``: the garment image (PNG or JPEG bytes as given);
* one file field per bundle file, named by the file's stem (``person``, ``mask_upper``,
  ``keypoints``, ``densepose`` …), plus ``mask``: the mask of the requested category.

The service answers 200 with the result image (``image/png`` or ``image/jpeg``).
:func:`validate_bundle_files` checks a set of files against :data:`BUNDLE_SCHEMA`; the client runs
it before sending and a service can run it on what it receives.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import httpx
from PIL import Image

log = logging.getLogger(__name__)

Category = Literal["upper", "lower", "dress"]
CATEGORIES: tuple[str, ...] = ("upper", "lower", "dress")

# file name -> (PIL mode, or "json"); every image must share person.png's size.
BUNDLE_SCHEMA: dict[str, str] = {
    "person.png": "RGB",
    "mask_upper.png": "L",
    "mask_lower.png": "L",
    "mask_dress.png": "L",
    "densepose.png": "RGB",
    "densepose_iuv.png": "RGB",
    "depth.png": "I;16",
    "normal.png": "RGB",
    "keypoints.json": "json",
    "camera.json": "json",
    "params.json": "json",
}
MAX_GARMENT_BYTES = 20 * 1024 * 1024


class TryOnError(RuntimeError):
    """The generator could not be reached or did not return an image; the message says which."""


@runtime_checkable
class TryOnGenerator(Protocol):
    """Anything that dresses a rendered avatar in a garment."""

    def generate(self, bundle: Path, garment_image: bytes | Path, category: Category) -> Image.Image:
        """Return the person of the bundle folder ``bundle`` wearing ``garment_image`` (RGB image)."""
        ...


def validate_bundle_files(files: dict[str, bytes]) -> list[str]:
    """Problems with a bundle given as {file name: bytes}; an empty list means it matches the schema.

    Checks presence, image mode and a common image size, the 18 ``pose_keypoints_2d`` pairs, the
    75-number ``body_25`` list and the camera's image size.
    """
    problems: list[str] = []
    size: tuple[int, int] | None = None
    for name, kind in BUNDLE_SCHEMA.items():
        data = files.get(name)
        if data is None:
            problems.append(f"{name}: missing")
            continue
        if kind == "json":
            try:
                json.loads(data)
            except ValueError as exc:
                problems.append(f"{name}: not JSON ({exc})")
            continue
        try:
            with Image.open(io.BytesIO(data)) as img:
                mode, img_size, fmt = img.mode, img.size, img.format
        except Exception as exc:  # PIL raises several types for undecodable data
            problems.append(f"{name}: not an image ({exc})")
            continue
        if fmt != "PNG" or mode != kind:
            problems.append(f"{name}: expected a {kind} PNG, got {mode} {fmt}")
        size = size or img_size
        if img_size != size:
            problems.append(f"{name}: size {img_size} differs from {size}")
    if "keypoints.json" in files and not any(p.startswith("keypoints.json") for p in problems):
        kps = json.loads(files["keypoints.json"])
        pose = kps.get("pose_keypoints_2d")
        if not (isinstance(pose, list) and len(pose) == 18 and all(len(p) == 2 for p in pose)):
            problems.append("keypoints.json: pose_keypoints_2d must be 18 [x, y] pairs")
        if not (isinstance(kps.get("body_25"), list) and len(kps["body_25"]) == 75):
            problems.append("keypoints.json: body_25 must be a flat list of 75 numbers")
    if size and "camera.json" in files and not any(p.startswith("camera.json") for p in problems):
        cam = json.loads(files["camera.json"]).get("image_size", {})
        if (cam.get("width"), cam.get("height")) != size:
            problems.append(f"camera.json: image_size {cam} differs from the images' {size}")
    return problems


def read_bundle(folder: Path) -> dict[str, bytes]:
    """The schema's files of a bundle folder, as bytes (missing files are simply absent)."""
    return {name: (folder / name).read_bytes() for name in BUNDLE_SCHEMA if (folder / name).is_file()}


class HttpTryOnGenerator:
    """Posts the bundle and the garment to a deployed generator and returns the image it answers.

    Args:
        endpoint: the generator's URL (``http://`` or ``https://``).
        timeout_s: seconds to wait for the answer (diffusion takes a while).
        headers: extra request headers, e.g. an ``Authorization`` token.
    """

    def __init__(self, endpoint: str, timeout_s: float = 300.0, headers: dict[str, str] | None = None):
        if not endpoint.startswith(("http://", "https://")):
            raise ValueError(f"endpoint must be an http:// or https:// URL, got {endpoint!r}")
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.headers = headers or {}

    def generate(self, bundle: Path, garment_image: bytes | Path, category: Category) -> Image.Image:
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES)}, got {category!r}")
        files = read_bundle(bundle)
        problems = validate_bundle_files(files)
        if problems:
            raise ValueError(f"bundle {bundle} does not match the bundle schema: {'; '.join(problems)}")
        garment = garment_image.read_bytes() if isinstance(garment_image, Path) else garment_image
        if not garment or len(garment) > MAX_GARMENT_BYTES:
            raise ValueError(f"garment_image must hold 1 to {MAX_GARMENT_BYTES} bytes, got {len(garment)}")
        parts: list[tuple[str, tuple[str, bytes, str]]] = [
            (Path(name).stem, (name, data, _mime(name))) for name, data in files.items()
        ]
        parts.append(("mask", (f"mask_{category}.png", files[f"mask_{category}.png"], "image/png")))
        parts.append(("garment", ("garment", garment, "application/octet-stream")))
        log.info("try-on: posting %d files (%s) to %s", len(parts), category, self.endpoint)
        try:
            response = httpx.post(self.endpoint, data={"category": category}, files=parts,
                                  headers=self.headers, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise TryOnError(f"try-on generator at {self.endpoint} unreachable: {exc}") from exc
        if response.status_code != 200:
            raise TryOnError(f"try-on generator answered {response.status_code}: {response.text[:500]}")
        return _decode_image(response)


def _mime(name: str) -> str:
    return "application/json" if name.endswith(".json") else "image/png"


def _decode_image(response: httpx.Response) -> Image.Image:
    kind = response.headers.get("content-type", "")
    if not kind.startswith("image/"):
        raise TryOnError(f"try-on generator answered {kind or 'no content type'}, expected an image")
    try:
        img = Image.open(io.BytesIO(response.content))
        img.load()
    except Exception as exc:  # PIL raises several types for undecodable data
        raise TryOnError(f"try-on generator answered undecodable image data: {exc}") from exc
    result: Any = img.convert("RGB")
    return result
