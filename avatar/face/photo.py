"""Untrusted photo intake: sniff the real type, refuse bombs before decoding, orient, strip metadata.

Nothing here touches the disk: bytes come in, an RGB array (which carries no metadata at all) goes out.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from avatar.face.quality import DEFAULT_THRESHOLDS, PhotoRejected, Thresholds

log = logging.getLogger(__name__)

PhotoFormat = Literal["JPEG", "PNG", "WEBP", "HEIF"]

# Pillow's own bomb guard: warn above this, refuse above twice this. Our explicit check below is
# stricter and runs first; this only backs it up for any other Image.open in the process.
Image.MAX_IMAGE_PIXELS = DEFAULT_THRESHOLDS.max_pixels

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def _heif_available() -> bool:
    """HEIC needs pillow-heif (a maintained PyPI decoder); without it HEIC is simply unsupported."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


HEIF_SUPPORTED = _heif_available()


@dataclass(frozen=True)
class PhotoInfo:
    """What we learnt about an upload. Sizes are (width, height) in pixels."""

    format: PhotoFormat
    n_bytes: int
    stored_size: tuple[int, int]
    size: tuple[int, int]
    exif_orientation: int


def sniff_format(data: bytes) -> PhotoFormat | None:
    """The format from the magic bytes, never from a file name or a client's content type."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _unsupported(message: str, **details: object) -> PhotoRejected:
    return PhotoRejected(
        "unsupported_image",
        f"{message} Upload a JPEG, PNG or WebP photo" + (" (or HEIC)." if HEIF_SUPPORTED else "."),
        dict(details),
    )


def load_photo(data: bytes, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> tuple[np.ndarray, PhotoInfo]:
    """Decode an uploaded photo into an upright ``(H, W, 3)`` uint8 RGB array with no metadata.

    Refuses with :class:`PhotoRejected`: ``image_too_large`` over ``thresholds.max_bytes`` bytes or
    ``thresholds.max_pixels`` pixels (checked from the header, before the pixels are decoded), and
    ``unsupported_image`` for anything that is not a readable JPEG, PNG, WebP (or HEIC).
    """
    n_bytes = len(data)
    if n_bytes > thresholds.max_bytes:
        raise PhotoRejected(
            "image_too_large",
            f"The photo is {n_bytes / 2**20:.1f} MB; the limit is {thresholds.max_bytes / 2**20:.0f} MB. "
            "Upload a smaller photo.",
            {"bytes": n_bytes, "max_bytes": thresholds.max_bytes},
        )
    fmt = sniff_format(data)
    if fmt is None or (fmt == "HEIF" and not HEIF_SUPPORTED):
        raise _unsupported("The file is not an image we can read.", detected=fmt)
    too_large = PhotoRejected(
        "image_too_large",
        f"The photo has more than {thresholds.max_pixels / 1e6:.0f} megapixels. Upload a smaller photo.",
        {"max_pixels": thresholds.max_pixels},
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own check follows
            img = Image.open(io.BytesIO(data), formats=[fmt])  # reads the header only
            width, height = img.size
    except Image.DecompressionBombError as exc:  # Pillow's guard: over twice its limit
        raise too_large from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _unsupported(f"The file looks like {fmt} but cannot be read ({exc}).", detected=fmt) from exc
    if width * height > thresholds.max_pixels:
        raise PhotoRejected(
            "image_too_large",
            f"The photo has {width * height / 1e6:.0f} megapixels; the limit is "
            f"{thresholds.max_pixels / 1e6:.0f}. Upload a smaller photo.",
            {"width": width, "height": height, "max_pixels": thresholds.max_pixels},
        )
    try:
        orientation = int(img.getexif().get(0x0112, 1))
        upright = ImageOps.exif_transpose(img)
        rgb = _to_rgb(upright)
        array = np.array(rgb, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError) as exc:
        raise _unsupported(f"The {fmt} file is damaged ({exc}).", detected=fmt) from exc
    info = PhotoInfo(
        format=fmt,
        n_bytes=n_bytes,
        stored_size=(width, height),
        size=(array.shape[1], array.shape[0]),
        exif_orientation=orientation if 1 <= orientation <= 8 else 1,
    )
    log.debug("photo %s %dx%d (stored %dx%d), orientation %d", fmt, *info.size, *info.stored_size,
              info.exif_orientation)
    return array, info


def _to_rgb(img: Image.Image) -> Image.Image:
    """Flatten transparency onto white (a transparent background must not read as black skin)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    if img.mode.startswith("I;16") or img.mode == "I":
        scaled = np.asarray(img, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8)).convert("RGB")
    return img.convert("RGB")


def encode_png(array: np.ndarray) -> bytes:
    """Re-encode a stripped array (for ``keep_photo=true``): PNG from raw pixels carries no EXIF or GPS."""
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError(f"array must be (H, W, 3) uint8, got {array.shape} {array.dtype}")
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()
