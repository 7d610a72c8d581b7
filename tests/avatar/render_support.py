"""Real posed bodies for the rendering tests: the Anny backend, loaded once per test session."""

from __future__ import annotations

from functools import lru_cache

import torch

from avatar.body.models.anny_backend import AnnyBody
from avatar.render.mesh import PosedBody

# Two body shapes (Anny phenotypes in [0, 1]) crossed with both sexes.
SHAPES: dict[str, dict[str, float]] = {
    "slim_tall": {"weight": 0.2, "height": 0.8, "muscle": 0.4},
    "heavy_short": {"weight": 0.9, "height": 0.25, "muscle": 0.6},
}
BODIES = [(sex, shape) for sex in ("female", "male") for shape in SHAPES]


@lru_cache(maxsize=1)
def anny_body() -> AnnyBody:
    """The default backend without local changes (it uses the compact cache `fitroom setup` builds)."""
    return AnnyBody(local_changes=())


@lru_cache(maxsize=8)
def posed_body(sex: str, shape: str) -> PosedBody:
    """A body of that sex and shape in the default ``a_pose``."""
    model = anny_body()
    params = model.default_shape(sex)  # type: ignore[arg-type]
    for name, value in SHAPES[shape].items():
        params[model.shape_names.index(name)] = value
    with torch.no_grad():
        return PosedBody.from_output(model(params[None]))
