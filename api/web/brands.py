"""``GET /v1/brands``: the brands that have items, for the widget's "a brand you know" picker.

The recommend route takes the size a shopper wears in one of these brands (``known_size``); listing
them lets the widget offer names the service knows instead of failing on a misspelt one.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api.db.sizing_tables import Item
from api.deps import SessionDep

router = APIRouter(prefix="/v1/brands", tags=["items"])
MAX_BRANDS: Final = 2000


class BrandPublic(BaseModel):
    brand: str
    items: int = Field(description="How many items of the brand the service has.")


class BrandList(BaseModel):
    data: list[BrandPublic]


@router.get("", response_model=BrandList)
def list_brands(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_BRANDS, description="At most this many.")] = 500,
) -> BrandList:
    """Brands with at least one item, by name, with their item counts."""
    stmt = (
        select(Item.brand, func.count())
        .where(Item.brand.is_not(None), Item.brand != "")
        .group_by(Item.brand)
        .order_by(func.lower(Item.brand), Item.brand)
        .limit(limit)
    )
    return BrandList(data=[BrandPublic(brand=str(b), items=int(n)) for b, n in session.execute(stmt)])
