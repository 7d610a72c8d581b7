"""The size model for the service: loaded once per process, reloaded when the artifact changes.

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


def load_size_model(settings: Settings) -> LoadedModel:
    """The cached model for ``settings.models_dir``; a newer artifact on disk replaces it."""
    directory = size_model_dir(settings)
    path = directory / ARTIFACT
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError as exc:
        raise ApiError(
            503,
            "model_unavailable",
            f"no size model at {path}; run `fitroom sizing train`",
            {"path": str(path)},
        ) from exc
    with _lock:
        hit = _cache.get(directory)
        if hit is None or hit[0] != mtime:
            model, version = load(directory)
            rec.prepare(model.curves)  # explanation tables now, not on the first request
            log.info("loaded size model %s from %s", version, directory)
            hit = (mtime, LoadedModel(model, version, directory))
            _cache[directory] = hit
    return hit[1]


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
