"""A new size model artifact is served without a restart: picked up from the folder on the next
request or at once by the admin call, swapped atomically while requests keep flowing (each finishes
on the model it started with), and a broken artifact never replaces a working model."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.model_store import load_size_model, size_model_dir
from api.security.principal import Scope
from api.settings import Settings
from sizing.train import ARTIFACT, DEFAULT_NAME, model_version, train
from tests.api.sizing_fixtures import chart_item, rows, settings  # noqa: F401 - fixtures
from tests.conftest import keyed_client
from tests.sizing_support import FAST, rtr_slice, trained_models_dir

# model-store behaviour, the same on both databases: run on SQLite only
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def own_models(settings: Settings, tmp_path: Path) -> Settings:  # noqa: F811
    """The test model copied into a folder this test may overwrite."""
    shutil.copytree(trained_models_dir() / DEFAULT_NAME, tmp_path / "models" / DEFAULT_NAME)
    return settings.model_copy(update={"models_dir": tmp_path / "models"})


@pytest.fixture
def admin(own_models: Settings) -> Iterator[TestClient]:
    with keyed_client(own_models, Scope.ADMIN) as c:
        yield c


def _version(client: TestClient, rows: pd.DataFrame) -> str:  # noqa: F811
    line = rows.iloc[0]
    body = {"item_id": line["item_id"], "shopper_id": line["shopper_id"]}
    r = client.post("/v1/sizes/recommend", json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["model_version"])


@pytest.fixture(scope="module")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A second model (fewer trees) trained once for the module: the artifact and its version."""
    out = tmp_path_factory.mktemp("retrained")
    trained = train(rtr_slice(4000, seed=4), out, dataset="rtr-slice", params={**FAST, "n_estimators": 60})
    return out / ARTIFACT, trained.version


def _publish(models: Settings, retrained: tuple[Path, str]) -> str:
    """Put the new artifact in place the way the trainer does: a temporary name, then one rename."""
    target = size_model_dir(models) / ARTIFACT
    partial = target.with_name(f".{ARTIFACT}.test.partial")
    shutil.copyfile(retrained[0], partial)
    os.replace(partial, target)
    return retrained[1]


def test_requests_keep_flowing_across_a_new_artifact(
    admin: TestClient,
    own_models: Settings,
    retrained: tuple[Path, str],
    rows: pd.DataFrame,  # noqa: F811
) -> None:
    old = _version(admin, rows)
    seen: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        line = rows.iloc[0]
        body = {"item_id": line["item_id"], "shopper_id": line["shopper_id"]}
        while not stop.is_set():
            r = admin.post("/v1/sizes/recommend", json=body)
            if r.status_code == 200:
                seen.append(r.json()["model_version"])
            else:
                failures.append(r.text)

    workers = [threading.Thread(target=hammer) for _ in range(3)]
    for w in workers:
        w.start()
    while len(seen) < 6 and not failures:  # requests are flowing on the old model
        stop.wait(0.02)
    new = _publish(own_models, retrained)
    while new not in seen[-3:] and not failures:
        stop.wait(0.05)
    stop.set()
    for w in workers:
        w.join()
    assert new != old and not failures
    assert set(seen) == {old, new}
    first_new = seen.index(new)
    # a few requests that started on the old model may finish after the first new answer, no more
    assert seen[first_new:].count(old) <= len(workers)
    assert not list(size_model_dir(own_models).glob(".*partial"))


def test_a_request_in_flight_keeps_the_model_it_started_with(
    own_models: Settings, retrained: tuple[Path, str]
) -> None:
    held = load_size_model(own_models)  # what a running request holds
    new_version = _publish(own_models, retrained)
    swapped = load_size_model(own_models)
    assert swapped.version == new_version != held.version
    # the swap replaced the served object; the one in flight is whole and unchanged
    assert swapped.model is not held.model and model_version(held.model) == held.version


def test_admin_reload_and_a_broken_artifact_keeps_the_old_model(
    admin: TestClient,
    own_models: Settings,
    retrained: tuple[Path, str],
    rows: pd.DataFrame,  # noqa: F811
) -> None:
    old = _version(admin, rows)
    artifact = size_model_dir(own_models) / ARTIFACT
    artifact.write_bytes(artifact.read_bytes()[:1000])  # what an in-place writer leaves if it dies
    assert _version(admin, rows) == old  # logged, still serving the model it had
    new = _publish(own_models, retrained)
    r = admin.post("/v1/admin/models/reload")
    assert r.status_code == 200 and r.json() == {"version": new}
    assert _version(admin, rows) == new
    ready = admin.get("/readyz")
    assert ready.status_code == 200 and ready.json()["sizefit"] == new
