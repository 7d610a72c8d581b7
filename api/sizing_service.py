"""Recommend and check against the database: the one place routes and CLI share for size-fit serving.

It looks shoppers, items, brands and offered sizes up in the canonical tables, turns them into the plain
data ``sizing.recommend`` takes, maps every bad input to an :class:`ApiError` (404 for an unknown id or
brand, 422 for a size the item does not offer), so no caller can turn them into a 500, and renders the
library's messages in the request's language (:mod:`api.messages`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from typing import Final

from sqlalchemy import Float, bindparam, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from api.db.avatar_tables import Avatar
from api.db.sizing_tables import Item, OrderLine, Shopper, SizeChart
from api.errors import ApiError, not_found
from api.messages import Lang, say
from api.model_store import LoadedModel
from api.schemas.sizing import (
    FitCheckBatchResult,
    FitCheckRequest,
    FitCheckResponse,
    FitCheckResult,
    KnownSize,
    Measurements,
    MessageOut,
    SizeProbabilities,
    SizeReasons,
    SizeRecommendation,
    SizeRecommendRequest,
)
from sizing import known_size as ks
from sizing import recommend as rec
from sizing.messages import Message
from sizing.scales import normalize

BODY_COLUMNS = rec.BODY_FIELDS

# Prebuilt Core statements (compiled once, cached by SQLAlchemy): a recommendation costs two cheap
# round trips, a batch of any size the same two, instead of four ORM queries per line.
_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)
_NO_CM = cast(null(), Float)
_SIZES = union_all(
    select(
        SizeChart.item_id, SizeChart.size, _NO_CM.label("size_num"), literal("chart").label("src"),
        SizeChart.measurement, SizeChart.cm,
    ).where(SizeChart.item_id.in_(_IDS)),
    select(  # a brand's chart serves every item of the brand that has none of its own
        Item.id, SizeChart.size, _NO_CM, literal("brand"), SizeChart.measurement, SizeChart.cm
    )
    .join(SizeChart, (SizeChart.brand == Item.brand) & SizeChart.item_id.is_(None))
    .where(Item.id.in_(_IDS)),
    select(
        OrderLine.item_id, OrderLine.size, OrderLine.size_num, literal("sold"), null(), _NO_CM
    )
    .where(OrderLine.item_id.in_(_IDS))
    .distinct(),
).subquery("sizes")  # fmt: skip
_ITEMS_WITH_SIZES: Final = (
    select(
        Item.id,
        Item.category,
        Item.brand,
        *(_SIZES.c[k] for k in ("size", "size_num", "src", "measurement", "cm")),
    )
    .outerjoin(_SIZES, _SIZES.c.item_id == Item.id)
    .where(Item.id.in_(_IDS))
)
_AVATARS: Final = select(Avatar.id, Avatar.measurements).where(Avatar.id.in_(_IDS))
_SHOPPERS: Final = select(Shopper.id, *(getattr(Shopper, k) for k in BODY_COLUMNS)).where(
    Shopper.id.in_(_IDS)
)


def _size_num(label: str, category: str | None, known: dict[str, float | None], rank: int) -> float:
    """Position on the size scale: what order lines recorded, else the label's place on the category's
    scale (sizing.scales), else its rank."""
    num = known.get(label)
    if num is not None:
        return float(num)
    point = normalize(label, category=category)
    return point.value if point is not None else float(rank)


def _offered(
    chart: dict[str, dict[str, float]], sold: dict[str, float | None], category: str | None
) -> list[tuple[str, float]]:
    """The item's size-chart sizes, else every size it was sold in; ordered by numeric size."""
    labels = sorted(chart) if chart else sorted(sold)
    pairs = [(label, _size_num(label, category, sold, i)) for i, label in enumerate(labels)]
    return sorted(pairs, key=lambda p: p[1])


def fetch_items(session: Session, item_ids: Iterable[str]) -> dict[str, rec.Item]:
    """The known items among ``item_ids`` with their offered sizes, in one query (unknown ids absent)."""
    ids = sorted(set(item_ids))
    meta: dict[str, tuple[str | None, str | None]] = {}
    charts: dict[str, dict[str, dict[str, dict[str, float]]]] = {"chart": {}, "brand": {}}
    sold: dict[str, dict[str, float | None]] = {}
    rows = session.connection().execute(_ITEMS_WITH_SIZES, {"ids": ids})
    for item_id, category, brand, size, size_num, src, measurement, cm in rows:
        meta[item_id] = (category, brand)
        if src in charts:
            charts[src].setdefault(item_id, {}).setdefault(size, {})[measurement] = float(cm)
        elif src == "sold":
            sold.setdefault(item_id, {})[size] = size_num
    items = {}
    for item_id, (category, brand) in meta.items():
        chart = charts["chart"].get(item_id) or charts["brand"].get(item_id) or {}
        sizes = _offered(chart, sold.get(item_id, {}), category)
        items[item_id] = rec.Item(item_id, category, brand, sizes, chart)
    return items


def fetch_shoppers(session: Session, shopper_ids: Iterable[str]) -> dict[str, dict[str, float | str | None]]:
    """Body data of the known shoppers among ``shopper_ids``, in one query (unknown ids absent)."""
    rows = session.connection().execute(_SHOPPERS, {"ids": sorted(set(shopper_ids))})
    return {row[0]: dict(zip(BODY_COLUMNS, row[1:], strict=True)) for row in rows}


def fetch_avatars(session: Session, avatar_ids: Iterable[str]) -> dict[str, dict[str, float | str | None]]:
    """Body data of the known avatars among ``avatar_ids``: what the shopper gave where they gave it,
    else what was measured on the fitted mesh (the body the shopper sees)."""
    bodies: dict[str, dict[str, float | str | None]] = {}
    for avatar_id, measurements in session.connection().execute(_AVATARS, {"ids": sorted(set(avatar_ids))}):
        body: dict[str, float | str | None] = {}
        for name in BODY_COLUMNS:
            entry = measurements.get(name)
            if isinstance(entry, dict):
                value = entry["target"] if entry.get("target") is not None else entry.get("achieved")
                if value is not None:
                    body[name] = float(value)
        bodies[avatar_id] = body
    return bodies


def _item(items: dict[str, rec.Item], item_id: str) -> rec.Item:
    item = items.get(item_id)
    if item is None:
        raise not_found("item", item_id)
    if not item.sizes:
        raise ApiError(
            422, "no_sizes", f"item {item_id!r} has no size chart and no sales", {"item_id": item_id}
        )
    return item


def _shopper(
    bodies: dict[str, dict[str, float | str | None]],
    shopper_id: str | None,
    measurements: Measurements | None,
    avatars: dict[str, dict[str, float | str | None]] | None = None,
    avatar_id: str | None = None,
) -> rec.Shopper:
    """Body data from the shopper's row, overridden by the avatar's, then by the request's measurements."""
    body: dict[str, float | str | None] = {}
    if shopper_id is not None:
        if shopper_id not in bodies:
            raise not_found("shopper", shopper_id)
        body = dict(bodies[shopper_id])
    if avatar_id is not None:
        if avatars is None or avatar_id not in avatars:
            raise not_found("avatar", avatar_id)
        body.update(avatars[avatar_id])
    if measurements is not None:
        body.update(measurements.given())
    return rec.Shopper(shopper_id=shopper_id, body=body)


def fetch_brand(session: Session, brand: str) -> tuple[str, list[str]]:
    """The brand as stored (an exact match, else the one matching case-insensitively) and its item ids;
    a 404 naming ``known_size.brand`` when no item has it."""
    rows = session.execute(select(Item.brand, Item.id).where(Item.brand == brand)).all()
    if not rows:
        rows = session.execute(
            select(Item.brand, Item.id).where(func.lower(Item.brand) == brand.lower())
        ).all()
    if not rows:
        raise ApiError(
            404,
            "not_found",
            f"known_size.brand: no items of brand {brand!r} (GET /v1/brands lists them)",
            {"field": "known_size.brand", "brand": brand},
        )
    stored = str(rows[0][0])
    return stored, [str(item_id) for b, item_id in rows if b == stored]


def _known(session: Session, loaded: LoadedModel, given: KnownSize) -> ks.KnownSize:
    brand, items = fetch_brand(session, given.brand)
    return ks.KnownSize(brand, given.size, ks.brand_offset(loaded.model.curves.layer_, items))


def _out(message: Message) -> MessageOut:
    return MessageOut(code=message.code, params=dict(message.params))


def _require_size(item: rec.Item, size: str, where: str = "size") -> None:
    valid = [s for s, _ in item.sizes]
    if size not in valid:
        raise ApiError(
            422,
            "size_not_offered",
            f"{where}: size {size!r} is not offered for item {item.item_id!r}; "
            f"valid sizes: {', '.join(valid)}",
            {"field": where, "size": size, "item_id": item.item_id, "valid_sizes": valid},
        )


def recommend(
    session: Session, loaded: LoadedModel, request: SizeRecommendRequest, lang: Lang = "en"
) -> SizeRecommendation:
    """The recommendation for ``request``, its explanation in ``lang``."""
    item = _item(fetch_items(session, [request.item_id]), request.item_id)
    bodies = fetch_shoppers(session, [request.shopper_id]) if request.shopper_id is not None else {}
    avatars = fetch_avatars(session, [request.avatar_id]) if request.avatar_id is not None else {}
    shopper = _shopper(bodies, request.shopper_id, request.measurements, avatars, request.avatar_id)
    if request.known_size is not None:
        shopper = replace(shopper, known=_known(session, loaded, request.known_size))
    result = rec.recommend(loaded.model, shopper, item)
    return SizeRecommendation(
        item_id=result.item_id,
        shopper_id=result.shopper_id,
        model_version=loaded.version,
        sizes=[SizeProbabilities(**asdict(s)) for s in result.sizes],
        recommended_size=result.recommended_size,
        confidence=result.confidence,
        lang=lang,
        explanation=say(result.messages, lang),
        explanation_messages=[_out(m) for m in result.messages],
        reasons=SizeReasons.model_validate(asdict(result.reasons)),
    )


def check_lines(
    session: Session, loaded: LoadedModel, lines: Sequence[FitCheckRequest], lang: Lang = "en"
) -> FitCheckBatchResult:
    """All lines or none: the first unknown id or unoffered size fails the batch, naming the line."""
    items = fetch_items(session, (line.item_id for line in lines))
    bodies = fetch_shoppers(session, (line.shopper_id for line in lines if line.shopper_id is not None))
    avatars = fetch_avatars(session, (line.avatar_id for line in lines if line.avatar_id is not None))
    prepared = []
    for i, line in enumerate(lines):
        where = f"lines.{i}" if len(lines) > 1 else ""
        try:
            item = _item(items, line.item_id)
            shopper = _shopper(bodies, line.shopper_id, line.measurements, avatars, line.avatar_id)
            _require_size(item, line.size, f"{where}.size" if where else "size")
        except ApiError as err:
            if where:
                err.details = {**err.details, "line": i}
                err.message = f"{where}: {err.message}" if not err.message.startswith(where) else err.message
            raise
        prepared.append((shopper, item, line.size))
    checks = rec.check_many(loaded.model, prepared)
    reasons = say((c.verdict for c in checks), lang)
    results = [
        FitCheckResult(
            **{k: v for k, v in asdict(c).items() if k != "verdict"},
            reason=reason,
            reason_message=_out(c.verdict),
        )
        for c, reason in zip(checks, reasons, strict=True)
    ]
    return FitCheckBatchResult(
        model_version=loaded.version,
        lang=lang,
        count=len(results),
        flagged=sum(r.flag for r in results),
        results=results,
    )


def check(
    session: Session, loaded: LoadedModel, line: FitCheckRequest, lang: Lang = "en"
) -> FitCheckResponse:
    result = check_lines(session, loaded, [line], lang).results[0]
    return FitCheckResponse(**result.model_dump(), model_version=loaded.version, lang=lang)
