"""Photo intake on real encoded files: type sniffing, bomb limits, EXIF orientation, metadata stripping."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from avatar.face.photo import HEIF_SUPPORTED, encode_png, load_photo, sniff_format
from avatar.face.quality import DEFAULT_THRESHOLDS, PhotoRejected

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"


def _jpeg_with_orientation_and_gps(orientation: int) -> bytes:
    """60×40 JPEG, left half red and right half blue, with an orientation tag and a GPS position."""
    pixels = np.zeros((40, 60, 3), dtype=np.uint8)
    pixels[:, :30] = (220, 20, 20)
    pixels[:, 30:] = (20, 20, 220)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 29.0), "E", (2.0, 17.0, 40.0)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", exif=exif, quality=95)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width×height but carries one row of pixels: a decompression bomb's header
    without its gigabytes (intake must refuse it from the header alone)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_exif_orientation_is_applied() -> None:
    data = _jpeg_with_orientation_and_gps(6)  # 6: display rotated 90° clockwise
    rgb, info = load_photo(data)
    assert info.exif_orientation == 6
    assert info.stored_size == (60, 40)
    assert rgb.shape == (60, 40, 3)
    top, bottom = rgb[:20].reshape(-1, 3).mean(0), rgb[-20:].reshape(-1, 3).mean(0)
    assert top[0] > top[2] + 100, "the stored left (red) half must end up on top"
    assert bottom[2] > bottom[0] + 100


def test_metadata_and_gps_are_dropped() -> None:
    data = _jpeg_with_orientation_and_gps(1)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825), "fixture must carry GPS"
    rgb, _ = load_photo(data)
    stripped = encode_png(rgb)
    reopened = Image.open(io.BytesIO(stripped))
    assert len(reopened.getexif()) == 0
    assert "exif" not in reopened.info and b"eXIf" not in stripped and b"TestCam" not in stripped


@pytest.mark.parametrize("name", ["frontal_female_astronaut_collins.png", "frontal_male_luciano.png"])
def test_real_photos_decode_to_rgb(name: str) -> None:
    rgb, info = load_photo((FACES / name).read_bytes())
    assert info.format == "PNG"
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert rgb.shape[:2] == Image.open(FACES / name).size[::-1]


def test_webp_is_sniffed_and_read() -> None:
    buf = io.BytesIO()
    Image.open(FACES / "noface_rocket.jpg").save(buf, format="WEBP")
    rgb, info = load_photo(buf.getvalue())
    assert info.format == "WEBP" and rgb.shape == (427, 640, 3)


@pytest.mark.skipif(not HEIF_SUPPORTED, reason="pillow-heif is not installed")
def test_heic_is_sniffed_and_read() -> None:
    buf = io.BytesIO()
    Image.open(FACES / "noface_rocket.jpg").save(buf, format="HEIF")
    rgb, info = load_photo(buf.getvalue())
    assert info.format == "HEIF" and rgb.shape == (427, 640, 3)


def test_text_file_renamed_jpg_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "holiday.jpg"
    path.write_text("this is not a photo\n")
    with pytest.raises(PhotoRejected) as err:
        load_photo(path.read_bytes())
    assert err.value.code == "unsupported_image"
    assert "JPEG" in err.value.message


def test_truncated_jpeg_is_unsupported() -> None:
    data = (FACES / "noface_rocket.jpg").read_bytes()[:2000]
    with pytest.raises(PhotoRejected) as err:
        load_photo(data)
    assert err.value.code == "unsupported_image"


def test_20000_square_png_is_too_large_before_decoding() -> None:
    data = _png_header_only(20000, 20000)
    assert len(data) < 100_000
    assert sniff_format(data) == "PNG"
    with pytest.raises(PhotoRejected) as err:
        load_photo(data)
    assert err.value.code == "image_too_large"
    assert err.value.details["max_pixels"] == DEFAULT_THRESHOLDS.max_pixels


def test_pixel_limit_just_above_40_megapixels() -> None:
    data = _png_header_only(8000, 5001)  # 40.008 MP: over the limit, under Pillow's own 2× guard
    with pytest.raises(PhotoRejected) as err:
        load_photo(data)
    assert err.value.code == "image_too_large"
    assert (err.value.details["width"], err.value.details["height"]) == (8000, 5001)


def test_byte_limit() -> None:
    data = (FACES / "noface_rocket.jpg").read_bytes()
    padded = data + b"\x00" * (DEFAULT_THRESHOLDS.max_bytes + 1 - len(data))
    with pytest.raises(PhotoRejected) as err:
        load_photo(padded)
    assert err.value.code == "image_too_large"
    assert err.value.details["bytes"] == DEFAULT_THRESHOLDS.max_bytes + 1
