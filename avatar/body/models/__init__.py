"""Body models behind one protocol; :func:`create` hides which class implements a backend."""

from __future__ import annotations

import os
from functools import lru_cache

from avatar.body.models.base import BodyModel, LinearInCoefficients, UVMapped
from avatar.types import Backend, Sex

__all__ = ["BodyModel", "LinearInCoefficients", "UVMapped", "create"]


def create(kind: Backend = "anny", sex: Sex = "unspecified") -> BodyModel:
    """The body model ``kind``, loaded once per process and configuration.

    Anny is one model whatever the sex (sex is one of its continuous phenotypes); SMPL-X loads one
    file per sex from the folder in ``FITROOM_SMPLX_DIR``, which is part of the cache key so a
    changed setting loads the new files.
    """
    if kind == "anny":
        return _cached("anny", "unspecified", None)
    if kind == "smplx":
        from avatar.body.models.smplx_backend import SMPLX_DIR_ENV

        return _cached("smplx", sex, os.environ.get(SMPLX_DIR_ENV))
    raise ValueError(f"backend: unknown body model {kind!r}; expected 'anny' or 'smplx'")


@lru_cache(maxsize=8)
def _cached(kind: Backend, sex: Sex, smplx_dir: str | None) -> BodyModel:
    if kind == "anny":
        from avatar.body.models.anny_backend import AnnyBody

        return AnnyBody()
    from pathlib import Path

    from avatar.body.models.smplx_backend import SmplxBody

    return SmplxBody(sex=sex, model_dir=Path(smplx_dir) if smplx_dir else None)
