"""The default completion model on disk: trained at set-up, cached per process, reloaded on change.

Training writes the artifact under a temporary name and renames it into place, so a second worker
never reads half a file; every reader compares the file's identity (mtime, inode, size) with the
one it cached and reloads when another process has replaced it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from avatar import paths
from avatar.completion.ansur import ansur_split
from avatar.completion.model import CompletionModel
from avatar.completion.nhanes import load_nhanes

log = logging.getLogger(__name__)

MODEL_DIRNAME = "completion-ansur2-nhanes"
ARTIFACT = "model.joblib"
CARD = "MODEL_CARD.md"

_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int, int], CompletionModel]] = {}


def model_dir(models_dir: Path | None = None) -> Path:
    """``models/completion-ansur2-nhanes`` (or under the given models folder)."""
    return (models_dir or paths.models_dir()) / MODEL_DIRNAME


def train_default(models_dir: Path | None = None, data_dir: Path | None = None) -> CompletionModel:
    """Fit on the ANSUR II train split (never its held-out subjects) and both NHANES cycles; save it."""
    train, _ = ansur_split(seed=0, data_dir=data_dir)
    model = CompletionModel().fit(train, population=load_nhanes(data_dir))
    path = model_dir(models_dir) / ARTIFACT
    model.save(path)
    log.info(
        "completion model trained on %d ANSUR II and %d NHANES adults, saved to %s",
        model.n_train_,
        model.n_population_,
        path,
    )
    return model


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_ino, st.st_size)


def load_default(models_dir: Path | None = None, data_dir: Path | None = None) -> CompletionModel:
    """The default model: cached, reloaded when the artifact changes, trained if missing or stale."""
    path = model_dir(models_dir) / ARTIFACT
    with _lock:
        ident = _identity(path)
        hit = _cache.get(path)
        if hit is not None and hit[0] == ident:
            return hit[1]
        model = None
        if ident is not None:
            try:
                model = CompletionModel.load(path)
            except ValueError as exc:
                log.warning("%s; retraining", exc)
        if model is None:
            model = train_default(models_dir, data_dir)
            ident = _identity(path)
        if ident is None:
            raise FileNotFoundError(f"completion model vanished while it was saved: {path}")
        _cache[path] = (ident, model)  # the identity seen before loading: a newer file reloads
        log.info("loaded completion model from %s", path)
        return model
