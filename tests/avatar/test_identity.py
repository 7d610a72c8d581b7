"""The identity command end to end on a real photo: real look-alike, real GL renders, real dlib model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
pytest.importorskip("dlib", reason="the identity measure is the [eval] extra: pip install -e '.[eval]'")


def test_likeness_command_reports_every_key(tmp_path: Path) -> None:
    shutil.copy(FACES / "frontal_male_luciano.png", tmp_path / "a.png")
    shutil.copy(FACES / "noface_rocket.jpg", tmp_path / "b.jpg")
    result = CliRunner().invoke(app, ["avatar", "likeness", "--photos", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    good, refused = report["photos"]
    assert refused == {"photo": "b.jpg", "error": "no_face"}
    assert set(good) == {"photo", "landmark_error_before", "landmark_error_after", "landmark_error_heldout",
                         "identity_distance", "hair_drawn", "hair_iou", "seconds"}
    assert set(good["identity_distance"]) == {"yaw0", "yaw20", "yaw-20", "yaw0_untextured"}
    assert good["landmark_error_after"] < good["landmark_error_before"]
    distances = good["identity_distance"]
    assert all(d is not None and 0.0 < d < 1.5 for d in distances.values()), distances
    # The textured frontal render carries the photo itself: it must be nearer than the bare head.
    assert distances["yaw0"] < distances["yaw0_untextured"]
    assert report["median"]["landmark_error_after"] == good["landmark_error_after"]


def test_likeness_command_names_a_missing_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["avatar", "likeness", "--photos", str(tmp_path / "nope"), "--json"])
    assert result.exit_code == 2 and "--photos" in result.output


def test_likeness_command_says_how_to_install_dlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from avatar.face import identity

    shutil.copy(FACES / "frontal_male_luciano.png", tmp_path / "a.png")
    monkeypatch.setitem(sys.modules, "dlib", None)  # as if the [eval] extra were not installed
    identity._dlib.cache_clear()
    try:
        result = CliRunner().invoke(app, ["avatar", "likeness", "--photos", str(tmp_path), "--json"])
    finally:
        identity._dlib.cache_clear()
    assert result.exit_code == 2
    assert "pip install" in result.output and "'.[eval]'" in result.output.replace("\n", "")
