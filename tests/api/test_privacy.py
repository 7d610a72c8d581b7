"""Privacy on the real app: retention purge (clock moved, not slept), the export zip, body-size limits
before parsing, and logs of a full photo-avatar round trip free of photos, landmarks, measurements
and keys."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.avatar_service import avatar_dir
from api.db.avatar_tables import Avatar
from api.db.session import session_scope
from api.logs import JsonFormatter
from api.security.principal import Scope
from api.settings import Settings
from avatar.face.lookalike import analyze_photo
from tests.conftest import bearer, issue_key, keyed_client, run_cli

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
BODY = {"stature_cm": 168.37, "body_mass_kg": 60.41, "waist_girth_cm": 71.13, "sex": "female"}


@pytest.fixture
def shopper(settings: Settings) -> Iterator[TestClient]:
    with keyed_client(settings, Scope.SHOPPER) as c:
        yield c


def _purge(settings: Settings, *args: str) -> dict:
    return json.loads(run_cli(settings, "avatar", "purge", "--json", *args).strip().splitlines()[-1])


def test_purge_removes_expired_avatars_completely(shopper: TestClient, settings: Settings) -> None:
    avatar_id = shopper.post("/v1/avatars", json=BODY).json()["id"]
    folder = avatar_dir(settings, avatar_id)
    assert folder.is_dir()
    abandoned = folder.with_name(".0000-crashed.partial")  # what a killed creation leaves
    abandoned.mkdir()
    (abandoned / "mesh.glb").write_bytes(b"half")
    hour_ago = time.time() - 2 * 3600
    os.utime(abandoned, (hour_ago, hour_ago))
    with session_scope(settings.sqlalchemy_url) as session:
        created = session.get(Avatar, avatar_id).created_at  # type: ignore[union-attr]

    kept = _purge(settings, "--days", "30", "--as-of", (created + timedelta(days=29)).isoformat())
    assert kept["purged"] == 0 and kept["partials_removed"] == 1 and not abandoned.exists()
    assert shopper.get(f"/v1/avatars/{avatar_id}").status_code == 200

    gone = _purge(settings, "--days", "30", "--as-of", (created + timedelta(days=30, seconds=1)).isoformat())
    assert gone["purged"] == 1
    assert shopper.get(f"/v1/avatars/{avatar_id}").status_code == 404
    assert not folder.exists() and not list(settings.state_dir.rglob(f"*{avatar_id}*"))
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.get(Avatar, avatar_id) is None


def test_purge_without_a_retention_period_refuses(settings: Settings) -> None:
    assert "FITROOM_AVATAR_RETENTION_DAYS" in run_cli(settings, "avatar", "purge", expect=2)


def test_photo_round_trip_export_and_logs_hold_no_personal_data(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    photo = (FACES / "frontal_female_astronaut_collins.png").read_bytes()
    key = issue_key(settings, Scope.SHOPPER)
    caplog.set_level(logging.DEBUG)
    with keyed_client(settings, None) as c:
        c.headers.update(bearer(key))
        created = c.post(
            "/v1/avatars",
            files={"photo": ("me.png", photo, "image/png")},
            data={"body": json.dumps(BODY), "keep_photo": "true"},
        )
        assert created.status_code == 201, created.text
        avatar = created.json()
        assert created.headers["x-request-id"]
        glb = c.get(f"/v1/avatars/{avatar['id']}/mesh.glb").content
        exported = c.get(f"/v1/avatars/{avatar['id']}/export")
        assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
            record = json.loads(archive.read("record.json"))
            names = set(archive.namelist())
            assert archive.read("files/mesh.glb") == glb
        on_disk = {f"files/{p.name}" for p in avatar_dir(settings, avatar["id"]).iterdir()}
        assert names == {"record.json"} | on_disk and "files/photo.png" in names
        assert record["id"] == avatar["id"]
        assert record["measurements"]["stature_cm"]["target"] == BODY["stature_cm"]
        assert c.delete(f"/v1/avatars/{avatar['id']}").status_code == 204

    text = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert '"route": "/v1/avatars"' in text and avatar["id"] in text  # the requests were logged
    landmarks = analyze_photo(photo).face.landmarks_px
    secrets = {
        "key": key,
        "photo (base64)": base64.b64encode(photo[1000:1048]).decode(),
        "photo (bytes)": photo[1000:1024].decode("latin-1"),
        **{f"landmark {i}": f"{landmarks[i, 0]:.2f}" for i in (1, 33, 263)},
        **{name: f"{value}" for name, value in BODY.items() if isinstance(value, float)},
    }
    for what, needle in secrets.items():
        assert needle not in text, f"the logs hold the {what}"


def test_bodies_over_the_limit_are_413_before_parsing(settings: Settings) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    with keyed_client(small, Scope.SHOPPER) as c:
        big = b'{"item_id": "' + b"x" * 4096 + b'"}'
        declared = c.post("/v1/sizes/recommend", content=big, headers={"Content-Type": "application/json"})
        assert declared.status_code == 413
        error = declared.json()["error"]
        assert error["code"] == "body_too_large" and error["details"] == {
            "field": "body", "max_bytes": 2048, "bytes": len(big)
        }
        chunked = c.post(
            "/v1/sizes/recommend",
            content=iter([big[:1500], big[1500:3000], big[3000:]]),
            headers={"Content-Type": "application/json"},
        )
        assert chunked.status_code == 413 and chunked.json()["error"]["details"]["max_bytes"] == 2048
        # under the limit, the route parses it as usual
        assert c.post("/v1/avatars/validate", json=BODY).status_code == 200
