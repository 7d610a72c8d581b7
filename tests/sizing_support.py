"""Small real RentTheRunway slices, a quickly trained size model, and DB rows for serving tests."""

from __future__ import annotations

import atexit
import dataclasses
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import insert
from sqlalchemy.orm import Session

from api.db.sizing_tables import Item, OrderLine, Shopper, SizeChart
from sizing.datasets import load_rtr
from sizing.features import BODY_NUMERIC
from sizing.model import SizeFitModel
from sizing.simulate import SimConfig, Simulated, simulate
from sizing.train import DEFAULT_NAME, train

DATA = Path(__file__).resolve().parent.parent / "data"
#: fast settings for tests: few, coarse trees; the real defaults are exercised by `fitroom sizing evaluate`
FAST: dict[str, Any] = {
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


def fast_model(frame: pd.DataFrame, seed: int = 0) -> SizeFitModel:
    """Risk model and size curves, quickly trained on ``frame``."""
    return SizeFitModel.fit(frame, frame["fit"], params={"random_state": seed, **FAST})


def populate(session: Session, frame: pd.DataFrame, chart_item: str | None = None) -> None:
    """Shoppers, items and order lines of ``frame``; a size chart (sizes 4, 8, 12) for ``chart_item``."""
    body_cols = (*BODY_NUMERIC, "cup", "body_type")
    shoppers = frame.drop_duplicates("shopper_id")[["shopper_id", *body_cols]].astype(object)
    shoppers = shoppers.where(shoppers.notna(), None).rename(columns={"shopper_id": "id"})
    session.execute(insert(Shopper), [{**r, "source": "rtr"} for r in shoppers.to_dict("records")])
    items = frame.drop_duplicates("item_id")
    session.execute(
        insert(Item),
        [
            {"id": i, "source": "rtr", "category": c}
            for i, c in zip(items["item_id"], items["category"], strict=True)
        ],
    )
    lines = [
        {"id": r.order_id, "source": "rtr", "shopper_id": r.shopper_id, "item_id": r.item_id, "size": r.size,
         "size_num": r.size_num, "ordered_at": r.ordered_at.to_pydatetime()}
        for r in frame.itertuples(index=False)
    ]  # fmt: skip
    session.execute(insert(OrderLine), lines)
    if chart_item is not None:
        chart = [("4", 86.0), ("8", 91.0), ("12", 96.0)]
        session.execute(
            insert(SizeChart),
            [{"item_id": chart_item, "size": z, "measurement": "bust_girth", "cm": cm} for z, cm in chart],
        )


@lru_cache(maxsize=1)
def trained_models_dir() -> Path:
    """A models folder holding a quickly trained ``sizefit-rtr`` (once per test process)."""
    root = Path(tempfile.mkdtemp(prefix="fitroom-sizefit-"))
    atexit.register(shutil.rmtree, root, True)
    train(rtr_slice(4000, seed=4), root / DEFAULT_NAME, dataset="rtr-slice", params=FAST)
    return root


def serving_rows() -> pd.DataFrame:
    """The order lines put in the test database: every sale of three busy items."""
    frame = rtr_slice(4000, seed=4)
    items = frame["item_id"].value_counts().index[:3]
    picked = frame[frame["item_id"].isin(items)]
    return picked.groupby("item_id", sort=False).head(60).reset_index(drop=True)


@lru_cache(maxsize=1)
def simulated() -> Simulated:
    """A small seeded simulated shop with ground truth (labelled lines only in ``transactions``)."""
    sim = simulate(SimConfig(n_orders=20_000, seed=7), ansur_dir=DATA / "ansur2")
    labelled = sim.transactions[sim.transactions["fit"].notna()].reset_index(drop=True)
    return dataclasses.replace(sim, transactions=labelled)
