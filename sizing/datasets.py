"""Shipped datasets, converted to the canonical transaction frame of :mod:`sizing.schema`.

Pure and fast (vectorised pandas, no database): the evaluation reads it directly and the RTR
importer reuses it before writing rows, so both see exactly the same conversion.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from sizing.scales import CUP_INCHES, normalize_many
from sizing.schema import TRANSACTION_COLUMNS

log = logging.getLogger(__name__)

RTR_FILE: Final = Path("renttherunway") / "renttherunway_structured_no_text.parquet"
LB_TO_KG: Final = 0.45359237
IN_TO_CM: Final = 2.54
#: ages outside this range are data-entry errors in RTR (e.g. 0 or 117) and become missing
AGE_RANGE: Final = (13.0, 100.0)


def bust_girth_cm(band_in: pd.Series, cup: pd.Series) -> pd.Series:
    """Estimate bust girth (cm) from a US bra size: band inches plus one inch per cup step."""
    cup_in = cup.astype("object").map(CUP_INCHES).astype(float)
    return (band_in.astype(float) + cup_in) * IN_TO_CM


def rtr_size_steps(codes: pd.Series, categories: pd.Series) -> np.ndarray:
    """RentTheRunway size codes as steps on their category's size scale (:mod:`sizing.scales`)."""
    labels = pd.to_numeric(codes, errors="coerce").map(lambda v: f"{v:g}", na_action="ignore")
    return normalize_many(labels, categories, system="rtr")[0]


def load_rtr(data_dir: Path) -> pd.DataFrame:
    """All RentTheRunway rows as canonical transactions (cm, kg, years; ids prefixed ``rtr:``).

    ``order_id`` is ``rtr:<row position in the shipped file>``, so re-imports give the same ids;
    ``size`` keeps RentTheRunway's code and ``size_num`` is its position on the category's size scale.
    """
    path = Path(data_dir) / RTR_FILE
    if not path.is_file():
        raise FileNotFoundError(f"RentTheRunway parquet not found: {path} (data_dir={data_dir})")
    raw = pd.read_parquet(path)
    n = len(raw)
    age = raw["age"].astype(float)
    age = age.where(age.between(*AGE_RANGE))
    cup = raw["bust_size_letter"].astype("object").where(raw["bust_size_letter"].notna(), None)
    frame = pd.DataFrame(
        {
            "order_id": "rtr:" + pd.Series(np.arange(n), dtype="int64").astype(str),
            "shopper_id": "rtr:" + raw["user_id"].astype(str),
            "item_id": "rtr:" + raw["item_id"].astype(str),
            "size": raw["size"].astype(str),
            "size_num": rtr_size_steps(raw["size"], raw["category"]),
            "ordered_at": pd.to_datetime(raw["review_date"]),
            "source": "rtr",
            "stature_cm": raw["height_in"].astype(float) * IN_TO_CM,
            "body_mass_kg": raw["weight_lbs"].astype(float) * LB_TO_KG,
            "bust_girth_cm": bust_girth_cm(raw["bust_size_num"], raw["bust_size_letter"]),
            "waist_girth_cm": np.full(n, np.nan),
            "hip_girth_cm": np.full(n, np.nan),
            "bra_band": raw["bust_size_num"].astype(float),
            "cup": cup,
            "body_type": raw["body_type"].astype("object").where(raw["body_type"].notna(), None),
            "age_years": age,
            "category": raw["category"].astype("object"),
            "brand": None,
            "rented_for": raw["rented_for"].astype("object").where(raw["rented_for"].notna(), None),
            "fit": raw["fit"].astype("object"),
            "return_reason": None,
            "rating": raw["rating"].astype(float),
            "review_text": None,
        },
        columns=list(TRANSACTION_COLUMNS),
    )
    log.info("loaded %d RentTheRunway transactions from %s", n, path)
    return frame
