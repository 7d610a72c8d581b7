"""Recommend and check against the database: the one place routes and CLI share for size-fit serving.

It looks shoppers, items and offered sizes up in the canonical tables, turns them into the plain data
``sizing.recommend`` takes, and maps every bad input to an :class:`ApiError` (404 for an unknown id,
422 for a size the item does not offer), so no caller can turn them into a 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.sizing_tables import Item, OrderLine, Shopper, SizeChart
from api.errors import ApiError, not_found
from api.model_store import LoadedModel
from api.schemas.sizing import (
    FitCheckBatchResult,
    FitCheckRequest,
    FitCheckResponse,
    FitCheckResult,
    Measurements,
    SizeProbabilities,
    SizeRecommendation,
    SizeRecommendRequest,
)
from sizing import recommend as rec

BODY_COLUMNS = rec.BODY_FIELDS


def _size_num(label: str, known: dict[str, float | None], rank: int) -> float:
    """Numeric size: what order lines recorded, else the label itself if numeric, else its rank."""
    num = known.get(label)
    if num is not None:
        return float(num)
    try:
        return float(label)
    except ValueError:
        return float(rank)


def offered_sizes(session: Session, item_id: str) -> list[tuple[str, float]]:
    """The item's size-chart sizes, else every size it was sold in; ordered by numeric size."""
    sold = dict(
        session.execute(
            select(OrderLine.size, OrderLine.size_num).where(OrderLine.item_id == item_id).distinct()
        ).all()
    )
    chart = session.scalars(select(SizeChart.size).where(SizeChart.item_id == item_id).distinct()).all()
    labels = sorted(chart) if chart else sorted(sold)
    pairs = [(label, _size_num(label, sold, i)) for i, label in enumerate(labels)]
    return sorted(pairs, key=lambda p: p[1])


def load_item(session: Session, item_id: str) -> rec.Item:
    row = session.get(Item, item_id)
    if row is None:
        raise not_found("item", item_id)
    sizes = offered_sizes(session, item_id)
    if not sizes:
        raise ApiError(
            422, "no_sizes", f"item {item_id!r} has no size chart and no sales", {"item_id": item_id}
        )
    return rec.Item(item_id=row.id, category=row.category, brand=row.brand, sizes=sizes)


def load_shopper(session: Session, shopper_id: str | None, measurements: Measurements | None) -> rec.Shopper:
    """Body data from the shopper's row, overridden by any measurements given in the request."""
    body: dict[str, float | str | None] = {}
    if shopper_id is not None:
        row = session.get(Shopper, shopper_id)
        if row is None:
            raise not_found("shopper", shopper_id)
        body = {k: getattr(row, k) for k in BODY_COLUMNS}
    if measurements is not None:
        body.update(measurements.given())
    return rec.Shopper(shopper_id=shopper_id, body=body)


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


def recommend(session: Session, loaded: LoadedModel, request: SizeRecommendRequest) -> SizeRecommendation:
    item = load_item(session, request.item_id)
    shopper = load_shopper(session, request.shopper_id, request.measurements)
    result = rec.recommend(loaded.model, shopper, item)
    return SizeRecommendation(
        item_id=result.item_id,
        shopper_id=result.shopper_id,
        model_version=loaded.version,
        sizes=[SizeProbabilities(**asdict(s)) for s in result.sizes],
        recommended_size=result.recommended_size,
        confidence=result.confidence,
        explanation=result.explanation,
    )


def check_lines(
    session: Session, loaded: LoadedModel, lines: Sequence[FitCheckRequest]
) -> FitCheckBatchResult:
    """All lines or none: the first unknown id or unoffered size fails the batch, naming the line."""
    items: dict[str, rec.Item] = {}
    shoppers: dict[str, rec.Shopper] = {}
    prepared = []
    for i, line in enumerate(lines):
        where = f"lines.{i}" if len(lines) > 1 else ""
        try:
            item = items.get(line.item_id) or load_item(session, line.item_id)
            items[line.item_id] = item
            if line.shopper_id is not None and line.measurements is None:
                shopper = shoppers.get(line.shopper_id) or load_shopper(session, line.shopper_id, None)
                shoppers[line.shopper_id] = shopper
            else:
                shopper = load_shopper(session, line.shopper_id, line.measurements)
            _require_size(item, line.size, f"{where}.size" if where else "size")
        except ApiError as err:
            if where:
                err.details = {**err.details, "line": i}
                err.message = f"{where}: {err.message}" if not err.message.startswith(where) else err.message
            raise
        prepared.append((shopper, item, line.size))
    checks = rec.check_many(loaded.model, prepared)
    results = [FitCheckResult(**asdict(c)) for c in checks]
    return FitCheckBatchResult(
        model_version=loaded.version,
        count=len(results),
        flagged=sum(r.flag for r in results),
        results=results,
    )


def check(session: Session, loaded: LoadedModel, line: FitCheckRequest) -> FitCheckResponse:
    result = check_lines(session, loaded, [line]).results[0]
    return FitCheckResponse(**result.model_dump(), model_version=loaded.version)
