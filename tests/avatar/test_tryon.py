"""HttpTryOnGenerator against a real HTTP server started here, which checks what it receives against
the bundle schema and answers like a generator would (an image of the person's size)."""

from __future__ import annotations

import email.parser
import email.policy
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from avatar.render.bundle import render_bundle, write_bundle
from avatar.render.tryon import (
    BUNDLE_SCHEMA,
    HttpTryOnGenerator,
    TryOnError,
    TryOnGenerator,
    validate_bundle_files,
)
from tests.avatar.render_support import posed_body


class _GeneratorService(BaseHTTPRequestHandler):
    """Validates the multipart request; answers the person with the garment's mean colour painted into
    the requested mask (a deterministic stand-in for the diffusion model behind a real service)."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers["Content-Length"])
        raw = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + self.rfile.read(length)
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        fields: dict[str, bytes] = {}
        filenames: dict[str, str | None] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            fields[str(name)] = payload if isinstance(payload, bytes) else b""
            filenames[str(name)] = part.get_filename()
        files = {
            filenames[stem] or "": data
            for stem, data in fields.items()
            if stem in {Path(n).stem for n in BUNDLE_SCHEMA}
        }
        problems = validate_bundle_files(files)
        category = fields.get("category", b"").decode()
        if category not in ("upper", "lower", "dress"):
            problems.append(f"category {category!r}")
        if "garment" not in fields or "mask" not in fields:
            problems.append("garment or mask missing")
        else:
            try:
                Image.open(io.BytesIO(fields["garment"])).verify()
            except Exception:
                problems.append("garment: not an image")
        type(self).received.append({"fields": sorted(fields), "problems": problems, "category": category})
        if problems:
            self._answer(422, "text/plain", "; ".join(problems).encode())
            return
        person = np.asarray(Image.open(io.BytesIO(files["person.png"])).convert("RGB")).copy()
        mask = np.asarray(Image.open(io.BytesIO(fields["mask"]))) > 0
        garment = np.asarray(Image.open(io.BytesIO(fields["garment"])).convert("RGB"))
        person[mask] = garment.reshape(-1, 3).mean(axis=0).astype(np.uint8)
        out = io.BytesIO()
        Image.fromarray(person).save(out, format="PNG")
        self._answer(200, "image/png", out.getvalue())

    def _answer(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def service() -> Iterator[str]:
    _GeneratorService.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GeneratorService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tryon"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    write_bundle(
        render_bundle(posed_body("female", "slim_tall"), size=(384, 512)), folder, {"backend": "anny"}
    )
    return folder


def _garment_png(rgb: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 128), rgb).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("category", ["upper", "lower", "dress"])
def test_client_posts_a_valid_bundle_and_returns_the_image(
    service: str, bundle_dir: Path, category: str
) -> None:
    generator = HttpTryOnGenerator(service, timeout_s=30)
    assert isinstance(generator, TryOnGenerator)
    result = generator.generate(bundle_dir, _garment_png((200, 30, 40)), category)  # type: ignore[arg-type]
    (received,) = _GeneratorService.received
    assert received["problems"] == [] and received["category"] == category
    assert {
        "person",
        "keypoints",
        "densepose",
        "depth",
        "normal",
        "camera",
        "params",
        "garment",
        "mask",
    } <= set(received["fields"])
    assert result.size == (384, 512) and result.mode == "RGB"
    mask = np.asarray(Image.open(bundle_dir / f"mask_{category}.png")) > 0
    painted = np.asarray(result)[mask]
    assert (np.abs(painted.astype(int) - (200, 30, 40)) <= 1).all()
    person = np.asarray(Image.open(bundle_dir / "person.png"))
    assert np.array_equal(np.asarray(result)[~mask], person[~mask])


def test_service_rejection_surfaces_as_tryon_error(service: str, bundle_dir: Path) -> None:
    with pytest.raises(TryOnError, match="answered 422: garment: not an image"):
        HttpTryOnGenerator(service).generate(bundle_dir, b"not an image", "upper")


def test_client_refuses_a_bundle_off_schema(service: str, bundle_dir: Path, tmp_path: Path) -> None:
    """An 8-bit depth map is caught before anything is sent."""
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in BUNDLE_SCHEMA:
        (broken / name).write_bytes((bundle_dir / name).read_bytes())
    Image.open(bundle_dir / "depth.png").convert("L").save(broken / "depth.png")
    with pytest.raises(ValueError, match="depth.png: expected a I;16 PNG"):
        HttpTryOnGenerator(service).generate(broken, _garment_png((0, 0, 0)), "upper")
    assert _GeneratorService.received == []  # the client refused before sending anything


def test_unreachable_or_non_image_answers_are_errors(bundle_dir: Path, service: str) -> None:
    with pytest.raises(TryOnError, match="unreachable"):
        HttpTryOnGenerator("http://127.0.0.1:9/none", timeout_s=5).generate(
            bundle_dir, _garment_png((1, 2, 3)), "upper"
        )
    with pytest.raises(ValueError, match="category must be one of"):
        HttpTryOnGenerator(service).generate(bundle_dir, _garment_png((1, 2, 3)), "hat")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="endpoint must be an http"):
        HttpTryOnGenerator("ftp://example.org")
    with pytest.raises(ValueError, match="garment_image must hold"):
        HttpTryOnGenerator(service).generate(bundle_dir, b"", "upper")
