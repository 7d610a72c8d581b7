"""Body models behind one protocol; :func:`create` hides which class implements a backend."""

from __future__ import annotations

from functools import lru_cache

from avatar.body.models.base import BodyModel
from avatar.types import Backend, Sex

__all__ = ["BodyModel", "create"]


@lru_cache(maxsize=8)
def create(kind: Backend = "anny", sex: Sex = "unspecified") -> BodyModel:
    """The body model ``kind`` (loaded once per process; SMPL-X loads one file per ``sex``)."""
    if kind == "anny":
        from avatar.body.models.anny_backend import AnnyBody

        return AnnyBody()  # sex is a continuous phenotype of the one Anny model
    if kind == "smplx":
        from avatar.body.models.smplx_backend import SmplxBody

        return SmplxBody(sex=sex)
    raise ValueError(f"backend: unknown body model {kind!r}; expected 'anny' or 'smplx'")
