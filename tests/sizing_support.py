"""Small real RentTheRunway slices, a quickly trained size model, and DB rows for serving tests."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from api.db.sizing_tables import Item, OrderLine, Shopper, SizeChart
from sizing.datasets import load_rtr
from sizing.features import BODY_NUMERIC
from sizing.model import SizeFitClassifier

DATA = Path(__file__).resolve().parent.parent / "data"
#: fast settings for tests: few, coarse trees; the real defaults are exercised by `fitroom sizing evaluate`
FAST = {
    "n_estimators": 120,
    "learning_rate": 0.15,
    "early_stopping_rounds": 15,
    "num_leaves": 15,
    "n_jobs": 1,
}


@lru_cache(maxsize=1)
def rtr() -> pd.DataFrame:
    return load_rtr(DATA)


def rtr_slice(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows of the busiest items, so items and shoppers recur as they do in the full data."""
    frame = rtr()
    top = frame["item_id"].value_counts().index[:40]
    pool = frame[frame["item_id"].isin(top)]
    return pool.sample(n=min(n, len(pool)), random_state=seed).reset_index(drop=True)


def fast_model(frame: pd.DataFrame, seed: int = 0) -> SizeFitClassifier:
    return SizeFitClassifier(random_state=seed, **FAST).fit(frame, frame["fit"])


def populate(session: Session, frame: pd.DataFrame, chart_item: str | None = None) -> None:
    """Shoppers, items and order lines of ``frame``; a size chart (sizes 4, 8, 12) for ``chart_item``."""
    shoppers = frame.drop_duplicates("shopper_id")
    for row in shoppers.itertuples(index=False):
        body = {
            k: (None if pd.isna(getattr(row, k)) else getattr(row, k))
            for k in (*BODY_NUMERIC, "cup", "body_type")
        }
        session.add(Shopper(id=row.shopper_id, source="rtr", **body))
    for row in frame.drop_duplicates("item_id").itertuples(index=False):
        session.add(Item(id=row.item_id, source="rtr", category=row.category, brand=None))
    session.flush()
    for row in frame.itertuples(index=False):
        session.add(
            OrderLine(id=row.order_id, source="rtr", shopper_id=row.shopper_id, item_id=row.item_id,
                      size=row.size, size_num=row.size_num, ordered_at=row.ordered_at.to_pydatetime())
        )  # fmt: skip
    if chart_item is not None:
        for size, cm in (("4", 86.0), ("8", 91.0), ("12", 96.0)):
            session.add(SizeChart(item_id=chart_item, size=size, measurement="bust_girth", cm=cm))
