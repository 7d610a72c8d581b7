"""``GET /v1/items`` and ``/v1/items/{item_id}``: what the widget and the fit map need to know about items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.sizing_tables import OrderLine, SizeChart
from api.deps import SessionDep
from api.errors import not_found
from api.sizing_service import fetch_items

router = APIRouter(prefix="/v1/items", tags=["items"])


class ItemPublic(BaseModel):
    item_id: str
    category: str | None
    brand: str | None
    sizes: list[str] = Field(description="Offered sizes, smallest first (size chart, else sales).")
    chart_measurements: list[str] = Field(description="Body measurements the item's size chart gives.")


class ItemList(BaseModel):
    data: list[ItemPublic]


def _charted(session: Session, item_ids: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Item id → the measurements of its size chart, for the given items (all charted items if None)."""
    stmt = select(SizeChart.item_id, SizeChart.measurement).where(SizeChart.item_id.is_not(None)).distinct()
    if item_ids is not None:
        stmt = stmt.where(SizeChart.item_id.in_(item_ids))
    charted: dict[str, list[str]] = {}
    for item_id, measurement in session.execute(stmt.order_by(SizeChart.item_id, SizeChart.measurement)):
        charted.setdefault(str(item_id), []).append(measurement)
    return charted


def _public(session: Session, item_ids: Sequence[str]) -> list[ItemPublic]:
    items, charted = fetch_items(session, item_ids), _charted(session, item_ids)
    return [
        ItemPublic(
            item_id=i,
            category=items[i].category,
            brand=items[i].brand,
            sizes=[label for label, _ in items[i].sizes],
            chart_measurements=charted.get(i, []),
        )
        for i in item_ids
        if i in items
    ]


@router.get("", response_model=ItemList)
def list_items(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=200, description="At most this many.")] = 20
) -> ItemList:
    """Items with a size chart first, then the most ordered ones (the studio's fit-map picker)."""
    ids = list(_charted(session))[:limit]
    if len(ids) < limit:
        busiest = (
            select(OrderLine.item_id)
            .group_by(OrderLine.item_id)
            .order_by(func.count().desc(), OrderLine.item_id)
            .limit(limit)
        )
        ids += [i for i in session.scalars(busiest) if i not in ids][: limit - len(ids)]
    return ItemList(data=_public(session, ids))


@router.get("/{item_id}", response_model=ItemPublic, responses={404: {"description": "Unknown item."}})
def get_item(item_id: Annotated[str, Path(min_length=1, max_length=64)], session: SessionDep) -> ItemPublic:
    """The item's offered sizes and which measurements its size chart covers (empty: no chart)."""
    found = _public(session, [item_id])
    if not found:
        raise not_found("item", item_id)
    return found[0]
