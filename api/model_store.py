"""The size model for the service: loaded once per process, swapped when the artifact changes.

Every request stats the artifact (the folder watch) and ``POST /v1/admin/models/reload`` swaps at
once. The swap replaces one dict entry under a lock: a request holds the :class:`LoadedModel` it
started with, so requests in flight finish on the old model. An artifact that fails to load (e.g.
written in place by an old trainer and caught half-way) is logged and the old model kept.
Routes take it through :data:`SizeModelDep`; tests point ``Settings.models_dir`` at their own model.
A missing artifact is a 503 naming the command that builds it, never a 500.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from starlette.concurrency import run_in_threadpool

from api import metrics
from api.deps import SettingsDep
from api.errors import ApiError
from api.settings import Settings
from sizing import recommend as rec
from sizing.model import SizeFitModel
from sizing.train import ARTIFACT, DEFAULT_NAME, TRAINING_JSON, load

log = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: dict[Path, tuple[float, LoadedModel]] = {}


@dataclass(frozen=True)
class LoadedModel:
    model: SizeFitModel
    version: str
    directory: Path


def size_model_dir(settings: Settings) -> Path:
    return settings.models_dir / DEFAULT_NAME


def size_model_version(settings: Settings) -> str | None:
    """The version recorded at training time, read without loading the model (for /healthz)."""
    info = size_model_dir(settings) / TRAINING_JSON
    if not (size_model_dir(settings) / ARTIFACT).is_file() or not info.is_file():
        return None
    try:
        return str(json.loads(info.read_text())["version"])
    except (ValueError, KeyError):
        return None


def _mtime(directory: Path) -> float:
    path = directory / ARTIFACT
    try:
        return path.stat().st_mtime
    except FileNotFoundError as exc:
        raise ApiError(
            503,
            "model_unavailable",
            f"no size model at {path}; run `fitroom sizing train`",
            {"path": str(path)},
        ) from exc


def _swap(directory: Path, mtime: float, previous: LoadedModel | None) -> LoadedModel:
    """Load the artifact and make it the served model; on a bad artifact keep ``previous``."""
    try:
        model, version = load(directory)
        rec.prepare(model.curves)  # explanation tables now, not on the first request
    except Exception as exc:
        if previous is None:
            log.exception("size model at %s failed to load", directory)
            raise ApiError(
                503,
                "model_unavailable",
                f"the size model at {directory} could not be loaded ({type(exc).__name__}); "
                "retrain it with `fitroom sizing train`",
                {"path": str(directory)},
            ) from exc
        log.exception("size model at %s failed to load; still serving %s", directory, previous.version)
        _cache[directory] = (mtime, previous)  # not retried until the artifact changes again
        return previous
    loaded = LoadedModel(model, version, directory)
    _cache[directory] = (mtime, loaded)
    still_served = {hit[1].version for d, hit in _cache.items() if d != directory}
    retired = previous.version if previous and previous.version not in still_served else None
    metrics.model_in_use(version, retired)
    log.info("serving size model %s from %s", version, directory)
    return loaded


def load_size_model(settings: Settings) -> LoadedModel:
    """The cached model for ``settings.models_dir``; a newer artifact on disk replaces it."""
    directory = size_model_dir(settings)
    mtime = _mtime(directory)
    with _lock:
        hit = _cache.get(directory)
        if hit is None or hit[0] != mtime:
            return _swap(directory, mtime, hit[1] if hit else None)
    return hit[1]


def reload_size_model(settings: Settings) -> LoadedModel:
    """Load the artifact now, whatever its timestamp says (the admin call)."""
    directory = size_model_dir(settings)
    mtime = _mtime(directory)
    with _lock:
        hit = _cache.get(directory)
        return _swap(directory, mtime, hit[1] if hit else None)


def _cached(settings: Settings) -> LoadedModel | None:
    """The cached model if it is still the artifact on disk (one stat, no lock), else None."""
    directory = size_model_dir(settings)
    hit = _cache.get(directory)
    try:
        fresh = hit is not None and hit[0] == (directory / ARTIFACT).stat().st_mtime
    except FileNotFoundError:
        return None
    return hit[1] if fresh and hit is not None else None


async def get_size_model(settings: SettingsDep) -> LoadedModel:
    """Async so the usual cache hit costs no threadpool hop; a (re)load still runs off the event loop."""
    cached = _cached(settings)
    return cached if cached is not None else await run_in_threadpool(load_size_model, settings)


SizeModelDep = Annotated[LoadedModel, Depends(get_size_model)]
