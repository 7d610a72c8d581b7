"""``/v1/avatars/{id}/fitmap`` (JSON) and ``fitmap.glb``: where a size of an item would be tight or loose.

The ease of a region is the item's size-chart measurement for that size minus the avatar's own
measurement (cm): below zero the size is tight there, well above it is loose. Each body region is the
set of vertices whose skinning is dominated by the region's SMPL-X joints (``PosedBody.part_labels``,
the same labels the try-on masks use), so the colouring works for both body backends. Without a
size chart for the item the map is unavailable, and the 422 says why.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Final

import numpy as np
from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.db.avatar_tables import Avatar
from api.db.sizing_tables import Item, SizeChart
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError, not_found
from api.routers.avatars import avatar_dir
from avatar.render import parts as P
from avatar.render.source import load_avatar

router = APIRouter(prefix="/v1/avatars", tags=["avatars"])

#: chart measurement → (region name, SMPL-X joints whose vertices show it); the first charted one wins
REGIONS: Final[dict[str, tuple[str, tuple[int, ...]]]] = {
    "bust_girth": ("chest", (P.SPINE2, P.SPINE3)),
    "underbust_girth": ("chest", (P.SPINE2, P.SPINE3)),
    "waist_girth": ("waist", (P.SPINE1,)),
    "hip_girth": ("hips", (P.PELVIS,)),
    "thigh_girth": ("thighs", (P.L_HIP, P.R_HIP)),
    "neck_girth": ("neck", (P.NECK,)),
    "shoulder_width": ("shoulders", (P.L_COLLAR, P.R_COLLAR)),
    "arm_length": ("arms", (P.L_SHOULDER, P.R_SHOULDER, P.L_ELBOW, P.R_ELBOW)),
    "inside_leg": ("legs", (P.L_KNEE, P.R_KNEE)),
}
#: the colour scale (ease in cm → RGB): tight red through fitting green to loose blue
SCALE: Final = (
    (-8.0, (180, 35, 24)),
    (-3.0, (234, 120, 12)),
    (2.0, (34, 150, 80)),
    (8.0, (110, 170, 240)),
    (15.0, (29, 78, 216)),
)
TIGHT_BELOW_CM: Final = 0.0
LOOSE_ABOVE_CM: Final = 8.0
NO_DATA_RGB: Final = (190, 193, 198)

ItemQuery = Annotated[str, Query(min_length=1, max_length=64, description="The item.")]
SizeQuery = Annotated[str, Query(min_length=1, max_length=32, description="One of the item's sizes.")]


class RegionEase(BaseModel):
    region: str
    measurement: str
    body_cm: float = Field(description="The avatar's measurement.")
    chart_cm: float = Field(description="The size chart's measurement for this size.")
    ease_cm: float = Field(description="chart_cm - body_cm: below 0 tight, above loose_cm loose.")


class ScaleStop(BaseModel):
    ease_cm: float
    rgb: tuple[int, int, int]


class FitMapPublic(BaseModel):
    avatar_id: str
    item_id: str
    size: str
    regions: list[RegionEase]
    scale: list[ScaleStop]
    snug_cm: float = Field(-TIGHT_BELOW_CM, description="Ease below minus this is tight.")
    loose_cm: float = Field(LOOSE_ABOVE_CM, description="Ease above this is loose.")


@dataclass(frozen=True)
class _Map:
    public: FitMapPublic
    folder: Any


def _body_cm(entry: dict[str, Any] | None) -> float | None:
    """The measurement of the body the shopper sees: achieved on the mesh, else given, else predicted."""
    if not entry:
        return None
    for value in (entry.get("achieved"), entry.get("target"), (entry.get("predicted") or {}).get("mean")):
        if value is not None:
            return float(value)
    return None


def _fit_map(session: SessionDep, settings: SettingsDep, avatar_id: str, item_id: str, size: str) -> _Map:
    try:
        uuid.UUID(avatar_id)
    except ValueError:
        raise not_found("avatar", avatar_id) from None
    avatar = session.get(Avatar, avatar_id)
    if avatar is None:
        raise not_found("avatar", avatar_id)
    if session.get(Item, item_id) is None:
        raise not_found("item", item_id)
    rows = session.execute(
        select(SizeChart.size, SizeChart.measurement, SizeChart.cm).where(SizeChart.item_id == item_id)
    ).all()
    if not rows:
        raise ApiError(
            422,
            "no_size_chart",
            f"item {item_id!r} has no size chart, so its fit map is unavailable: the map compares the "
            "chart's measurements for each size with yours",
            {"item_id": item_id},
        )
    chart_sizes = sorted({r.size for r in rows})
    if size not in chart_sizes:
        raise ApiError(
            422,
            "unknown_size",
            f"size: item {item_id!r} has no size {size!r} in its size chart; its sizes are {chart_sizes}",
            {"field": "size", "sizes": chart_sizes},
        )
    regions: dict[str, RegionEase] = {}
    for row in rows:
        if row.size != size or row.measurement not in REGIONS:
            continue
        region = REGIONS[row.measurement][0]
        body = _body_cm(avatar.measurements.get(f"{row.measurement}_cm"))
        if body is None or region in regions:
            continue
        regions[region] = RegionEase(
            region=region,
            measurement=row.measurement,
            body_cm=round(body, 1),
            chart_cm=row.cm,
            ease_cm=round(row.cm - body, 1),
        )
    if not regions:
        charted = sorted({r.measurement for r in rows})
        raise ApiError(
            422,
            "no_comparable_measurement",
            f"item {item_id!r}'s size chart gives {charted}, none of which the fit map can place on the body",
            {"item_id": item_id, "measurements": charted},
        )
    public = FitMapPublic(
        avatar_id=avatar_id,
        item_id=item_id,
        size=size,
        regions=list(regions.values()),
        scale=[ScaleStop(ease_cm=e, rgb=rgb) for e, rgb in SCALE],
    )
    return _Map(public, avatar_dir(settings, avatar_id))


def ease_rgb(ease_cm: float) -> tuple[int, int, int]:
    """The colour of ``ease_cm`` on :data:`SCALE` (linear between stops, clamped at the ends)."""
    xs = [e for e, _ in SCALE]
    r, g, b = (int(round(float(np.interp(ease_cm, xs, [rgb[c] for _, rgb in SCALE])))) for c in range(3))
    return r, g, b


def _coloured_glb(fit_map: _Map) -> bytes:
    """The avatar in its stored pose with each vertex coloured by its region's ease."""
    import trimesh

    body = load_avatar(fit_map.folder, "stored").body
    colours = np.tile(np.array([*NO_DATA_RGB, 255], dtype=np.uint8), (len(body.vertices), 1))
    for region in fit_map.public.regions:
        joints = REGIONS[region.measurement][1]
        colours[np.isin(body.part_labels, joints), :3] = ease_rgb(region.ease_cm)
    mesh = trimesh.Trimesh(vertices=body.vertices, faces=body.faces, vertex_colors=colours, process=False)
    # smooth vertex normals: without them the viewer shades every triangle flat and creases go black
    return bytes(trimesh.exchange.gltf.export_glb(trimesh.Scene(mesh), include_normals=True))


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown avatar or item."},
    422: {
        "description": "The item has no size chart (the message says why the map is unavailable), or "
        "the size is not in it (the message lists its sizes)."
    },
}


@router.get("/{avatar_id}/fitmap", response_model=FitMapPublic, responses=_ERRORS)
def fit_map(
    avatar_id: str, item_id: ItemQuery, size: SizeQuery, session: SessionDep, settings: SettingsDep
) -> FitMapPublic:
    """Per body region, the size chart's ease for this size against the avatar (cm), and the colour scale."""
    return _fit_map(session, settings, avatar_id, item_id, size).public


@router.get(
    "/{avatar_id}/fitmap.glb",
    response_class=Response,
    responses={200: {"content": {"model/gltf-binary": {}}, "description": "The coloured avatar."}, **_ERRORS},
)
async def fit_map_glb(
    avatar_id: str, item_id: ItemQuery, size: SizeQuery, session: SessionDep, settings: SettingsDep
) -> Response:
    """The avatar with each body region coloured by its ease in this size (grey: not in the chart)."""
    found = _fit_map(session, settings, avatar_id, item_id, size)
    return Response(await run_in_threadpool(_coloured_glb, found), media_type="model/gltf-binary")
