"""The one place that knows where avatar caches live.

Anny reads ``ANNY_CACHE_DIR`` when it is imported, so :func:`import_anny` must run before the
first ``import anny``; every backend goes through :func:`import_anny` to guarantee that.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


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


def prune_anny_cache() -> None:
    """Drop the bulky intermediates (about 0.8 GB) Anny's first build leaves: only the compact model
    data is read afterwards, and it loads in about a second."""
    for path in anny_cache_dir().glob("v*/*.safetensors"):
        if not path.name.startswith("build_compact_model_data_"):
            path.unlink()
