from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
BODY = {"stature_cm": 168, "body_mass_kg": 60, "sex": "female"}


def test_photo_avatar_and_complete_deletion(client: TestClient, settings, database_url: str) -> None:
    photo = (FACES / "frontal_female_astronaut_collins.png").read_bytes()
    r = client.post("/v1/avatars", files={"photo": ("me.png", photo, "image/png")},
                    data={"body": json.dumps(BODY), "keep_photo": "true"})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["face"]["landmark_error_after"] < doc["face"]["landmark_error_before"]
    folder = settings.artifact_dir / "avatars" / doc["id"]
    assert {"mesh.glb", "preview.png", "photo.png"} <= {p.name for p in folder.iterdir()}
    assert client.delete(f"/v1/avatars/{doc['id']}").status_code == 204
    assert not folder.exists()
    assert not [p for p in settings.state_dir.rglob("*") if doc["id"] in str(p)]
    engine = create_engine(settings.sqlalchemy_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM avatar WHERE id = :i"), {"i": doc["id"]}).scalar() == 0


def test_photo_rejections_are_422(client: TestClient, settings) -> None:
    r = client.post("/v1/avatars", files={"photo": ("x.jpg", (FACES / "noface_rocket.jpg").read_bytes())},
                    data={"body": json.dumps(BODY)})
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_face"
    r = client.post("/v1/avatars", files={"photo": ("x.jpg", b"hello")}, data={"body": json.dumps(BODY)})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unsupported_image"
    r = client.post("/v1/avatars", json=BODY)
    assert r.status_code == 201 and r.json()["face"] is None


def test_a_photo_is_not_kept_unless_asked(client: TestClient, settings) -> None:
    photo = (FACES / "frontal_male_luciano.png").read_bytes()
    r = client.post("/v1/avatars", files={"photo": ("me.png", photo, "image/png")},
                    data={"body": json.dumps({"stature_cm": 178, "body_mass_kg": 80, "sex": "male"})})
    assert r.status_code == 201, r.text
    folder = settings.artifact_dir / "avatars" / r.json()["id"]
    assert "photo.png" not in {p.name for p in folder.iterdir()}


def test_an_oversized_upload_is_refused_before_parsing(client: TestClient) -> None:
    big = b"\0" * (16 * 1024 * 1024)
    r = client.post("/v1/avatars", files={"photo": ("big.png", big)}, data={"body": json.dumps(BODY)})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "image_too_large"


def test_multipart_photos_stay_in_memory() -> None:
    """Starlette would spool a part over 1 MB to a temporary file; ours never rolls over to disk."""
    import asyncio

    from starlette.datastructures import Headers

    from api.routers.avatars import _InMemoryMultiPart

    payload = b"x" * (3 * 1024 * 1024)
    boundary = "fitroomboundary"
    raw = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.png\"\r\n"
        "Content-Type: image/png\r\n\r\n"
    ).encode() + payload + f"\r\n--{boundary}--\r\n".encode()

    async def stream():  # type: ignore[no-untyped-def]
        yield raw

    headers = Headers({"content-type": f"multipart/form-data; boundary={boundary}"})
    form = asyncio.run(_InMemoryMultiPart(headers, stream(), max_files=1, max_fields=3).parse())
    upload = form["photo"]
    assert not isinstance(upload, str)
    assert upload.file._rolled is False  # type: ignore[union-attr]
    assert asyncio.run(upload.read()) == payload


def test_a_body_model_whose_head_has_no_face_is_503_naming_it(
    client: TestClient, settings, tmp_path: Path, monkeypatch
) -> None:
    """The operator's SMPL-X file is at fault, not the photo: its head (here flattened into a plane,
    so MediaPipe finds no face on its renders) cannot carry the landmark map. Nothing is stored."""
    import numpy as np

    from tests.avatar.smplx_support import write_synthetic_smplx

    folder = write_synthetic_smplx(tmp_path / "smplx", face=True)
    for npz in folder.glob("SMPLX_*.npz"):
        data = dict(np.load(npz))
        v = data["v_template"]
        head = v[:, 1] > v[:, 1].max() - 0.25
        v[head, 2] = v[head, 2].mean()
        np.savez(npz, **data)
    monkeypatch.setenv("FITROOM_SMPLX_DIR", str(folder))
    monkeypatch.setenv("FITROOM_AVATAR_CACHE_DIR", str(tmp_path / "cache"))
    photo = (FACES / "frontal_female_astronaut_collins.png").read_bytes()
    r = client.post("/v1/avatars", files={"photo": ("me.png", photo, "image/png")},
                    data={"body": json.dumps(BODY | {"backend": "smplx"})})
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["code"] == "backend_unavailable" and error["details"] == {"backend": "smplx"}
    assert "smplx body model's head" in error["message"] and "faces on the head render" in error["message"]
    avatars = settings.artifact_dir / "avatars"
    assert not avatars.exists() or not any(avatars.iterdir())
    assert not list((tmp_path / "cache").rglob("*.json"))
