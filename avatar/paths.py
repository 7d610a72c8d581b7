"""The one place that knows where avatar caches live.

Anny reads ``ANNY_CACHE_DIR`` when it is imported, so :func:`configure_anny` must run before the
first ``import anny``; every backend goes through :func:`import_anny` to guarantee that.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
COMPACT_GLOB = "v*/build_compact_model_data_*.safetensors"


def anny_cache_dir() -> Path:
    """``ANNY_CACHE_DIR`` if set, else ``var/anny_cache`` inside the project."""
    return Path(os.environ.get("ANNY_CACHE_DIR", ROOT / "var" / "anny_cache"))


def models_dir() -> Path:
    """``FITROOM_MODELS_DIR`` if set, else the project's ``models/`` (trained artifacts + cards)."""
    return Path(os.environ.get("FITROOM_MODELS_DIR", ROOT / "models"))


def data_dir() -> Path:
    """``FITROOM_DATA_DIR`` if set, else the project's ``data/`` (shipped datasets)."""
    return Path(os.environ.get("FITROOM_DATA_DIR", ROOT / "data"))


def avatar_cache_dir() -> Path:
    """``FITROOM_AVATAR_CACHE_DIR`` if set, else ``var/avatar_cache``: derived data such as girth loops."""
    return Path(os.environ.get("FITROOM_AVATAR_CACHE_DIR", ROOT / "var" / "avatar_cache"))


def import_anny() -> ModuleType:
    """Import anny with its cache pointed at our folder."""
    os.environ.setdefault("ANNY_CACHE_DIR", str(anny_cache_dir()))
    import anny
    import anny.paths

    anny.paths.set_anny_cache_path(anny_cache_dir())
    return anny


def anny_cache_ready() -> bool:
    return any(anny_cache_dir().glob(COMPACT_GLOB))


def ensure_anny_cache() -> Path:
    """Build Anny's compact model data once (about 150 s, 1.4 GB peak) and drop the bulky intermediates."""
    cache = anny_cache_dir()
    if not anny_cache_ready():
        log.info("building the Anny body model cache in %s (first time only, about 150 s) …", cache)
        start = time.perf_counter()
        import_anny().Anny()
        log.info("Anny cache built in %.0f s", time.perf_counter() - start)
    for path in cache.glob("v*/*.safetensors"):
        if not path.name.startswith("build_compact_model_data_"):
            path.unlink()
    return next(cache.glob(COMPACT_GLOB))
