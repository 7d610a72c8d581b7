"""Fit-return analytics for the returns team, computed from canonical frames (pure; no I/O).

A *fit return* is a return with reason ``too_small`` or ``too_large``. Where no returns were recorded
(RentTheRunway has only rentals with fit feedback), fit feedback ``small``/``large`` stands in for it;
every output says which ``basis`` it used, because the two are not the same rate.
Intervals are Wilson score intervals (95 % by default), which stay inside [0, 1] for small counts.

This is the pandas reference; :mod:`sizing.analytics_duckdb` computes the same tables at scale, and
the tests hold the two equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from sizing import running
from sizing.intervals import Z95, wilson
from sizing.scales import category_scale

Basis = Literal["returns", "fit_feedback"]
GroupBy = Literal["item", "brand", "category", "size"]
GROUP_COLUMNS: Final[dict[str, str]] = {
    "item": "item_id",
    "brand": "brand",
    "category": "category",
    "size": "size",
}
UNKNOWN: Final = "(unknown)"
STAT_COLUMNS: Final = ("orders", "small", "large", "fit_returns", "rate", "ci_low", "ci_high", "small_rate",
                       "large_rate", "basis")  # fmt: skip
LETTER_SIZES: Final = ("xxxs", "xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl", "4xl", "5xl")


@dataclass(frozen=True)
class Outcomes:
    """Per order line: did it count, and was it a fit return for being too small / too large."""

    basis: Basis
    counted: pd.Series
    small: pd.Series
    large: pd.Series


def outcomes(frame: pd.DataFrame) -> Outcomes:
    """Classify each order line; the basis is ``returns`` whenever any return reason is present."""
    if frame["return_reason"].notna().any():
        reason = frame["return_reason"]
        return Outcomes(
            "returns", pd.Series(True, index=frame.index), reason == "too_small", reason == "too_large"
        )
    fit = frame["fit"]
    return Outcomes("fit_feedback", fit.notna(), fit == "small", fit == "large")


def summary(frame: pd.DataFrame) -> dict[str, object]:
    """Headline numbers: volumes, the basis, overall fit-return rates and the date range."""
    o = outcomes(frame)
    n = int(o.counted.sum())
    small, large = int(o.small.sum()), int(o.large.sum())
    dates = frame["ordered_at"].dropna()
    return {
        "basis": o.basis,
        "order_lines": len(frame),
        "counted": n,
        "shoppers": int(frame["shopper_id"].nunique()),
        "items": int(frame["item_id"].nunique()),
        "fit_returns": small + large,
        "fit_return_rate": (small + large) / n if n else None,
        "small_rate": small / n if n else None,
        "large_rate": large / n if n else None,
        "first_order": dates.min().isoformat() if len(dates) else None,
        "last_order": dates.max().isoformat() if len(dates) else None,
    }


def rates_by(frame: pd.DataFrame, by: GroupBy, *, min_orders: int = 1, z: float = Z95) -> pd.DataFrame:
    """Fit-return rate per item, brand, category or size, with a Wilson interval, most orders first.

    Columns: the key, ``orders`` (lines counted), ``small``, ``large``, ``fit_returns``, ``rate``,
    ``ci_low``, ``ci_high``, ``small_rate``, ``large_rate``, ``basis``. Missing keys group as "(unknown)".
    """
    if by not in GROUP_COLUMNS:
        raise ValueError(f"by={by!r} must be one of {', '.join(GROUP_COLUMNS)}")
    key = GROUP_COLUMNS[by]
    o = outcomes(frame)
    parts = pd.DataFrame(
        {
            key: frame[key].astype("object").where(frame[key].notna(), UNKNOWN),
            "orders": o.counted.astype(int),
            "small": (o.small & o.counted).astype(int),
            "large": (o.large & o.counted).astype(int),
        }
    )
    if by == "size":
        parts["size_num"] = frame["size_num"]
    agg = {"orders": "sum", "small": "sum", "large": "sum"} | ({"size_num": "min"} if by == "size" else {})
    table = parts.groupby(key, sort=False).agg(agg).reset_index()
    table = with_rates(table[table["orders"] >= max(min_orders, 1)].copy(), o.basis, z)
    head = [key, "size_num"] if by == "size" else [key]
    return order_groups(table[[*head, *STAT_COLUMNS]], by)


def order_groups(table: pd.DataFrame, by: GroupBy) -> pd.DataFrame:
    """Sizes in scale order, other groups most orders first; ties by key (one order for every engine)."""
    key = GROUP_COLUMNS[by]
    order = ["size_num", key] if by == "size" else ["orders", key]
    ascending = [True, True] if by == "size" else [False, True]
    return table.sort_values(order, ascending=ascending, kind="stable").reset_index(drop=True)


def items_running(
    frame: pd.DataFrame, *, min_orders: int = 50, q: float = running.DEFAULT_Q
) -> dict[running.Direction, pd.DataFrame]:
    """Items that run small and large, with the false-discovery rate held at ``q``
    (:func:`sizing.running.detect`); columns :data:`sizing.running.COLUMNS` and ``basis``."""
    found = running.detect(item_evidence(frame), min_orders=min_orders, q=q)
    basis = outcomes(frame).basis
    return {d: t.assign(basis=basis) for d, t in found.items()}


def item_brands(frame: pd.DataFrame) -> pd.Series:
    """item_id → brand for items with one (the largest, should an item's lines disagree)."""
    return frame.dropna(subset=["brand"]).groupby("item_id", sort=True)["brand"].max()


def item_evidence(frame: pd.DataFrame) -> pd.DataFrame:
    """Per item, the counts and the size-choice evidence :func:`sizing.running.detect` tests
    (:data:`sizing.running.EVIDENCE_COLUMNS`): each line's step from its shopper's usual size on the
    item's scale (shoppers with at least ``running.MIN_HISTORY`` sized lines there), clipped, plus
    ``running.FIT_WEIGHT`` for a too-small and minus it for a too-large outcome."""
    o = outcomes(frame)
    small, large = (o.small & o.counted), (o.large & o.counted)
    usual, history = usual_sizes(frame)
    shift = (frame["size_num"] - usual.where(history >= running.MIN_HISTORY)).clip(
        -running.CLIP_STEPS, running.CLIP_STEPS
    )
    evidence = shift + running.FIT_WEIGHT * (small.astype(float) - large.astype(float))
    parts = pd.DataFrame({"item_id": frame["item_id"], "category": frame["category"], "brand": frame["brand"],
                          "orders": o.counted.astype(int), "small": small.astype(int),
                          "large": large.astype(int), "evidence": evidence})  # fmt: skip
    table = parts.groupby("item_id", sort=True).agg(
        category=("category", "max"), brand=("brand", "max"), orders=("orders", "sum"),
        small=("small", "sum"), large=("large", "sum"), shifted=("evidence", "count"),
        shift_mean=("evidence", "mean"), shift_var=("evidence", "var"),
    )  # fmt: skip
    return table.reset_index()[list(running.EVIDENCE_COLUMNS)]


def usual_sizes(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per line: its shopper's usual (median) size on the line's scale, over all her sized lines, and
    how many sized lines that is (NaN / 0 for unsized lines)."""
    scales = frame["category"].astype("object").map(_scales(frame["category"]))
    sized = frame["size_num"].notna()
    group = frame.loc[sized, "size_num"].groupby([frame.loc[sized, "shopper_id"], scales[sized]])
    usual = pd.Series(np.nan, index=frame.index)
    count = pd.Series(0, index=frame.index)
    usual[sized] = group.transform("median")
    count[sized] = group.transform("size")
    return usual, count


def _scales(categories: pd.Series) -> dict[object, str]:
    """The family scale of each distinct category (missing → the default scale)."""
    return {c: category_scale(None if pd.isna(c) else str(c)) for c in categories.astype("object").unique()}


def monthly_trend(frame: pd.DataFrame, *, z: float = Z95) -> pd.DataFrame:
    """Per calendar month of ``ordered_at``: orders, small/large/fit-return rates with a Wilson interval."""
    o = outcomes(frame)
    dated = frame["ordered_at"].notna() & o.counted
    parts = pd.DataFrame(
        {
            "month": frame.loc[dated, "ordered_at"].dt.to_period("M").dt.start_time,
            "orders": 1,
            "small": o.small[dated].astype(int),
            "large": o.large[dated].astype(int),
        }
    )
    return with_rates(parts.groupby("month").sum().reset_index(), o.basis, z)


def rates_by_size_offset(
    frame: pd.DataFrame, *, min_history: int = 3, clip: int = 6, z: float = Z95
) -> pd.DataFrame:
    """Fit-return rates by how far each ordered size sits from the shopper's usual (median) size.

    It answers "do shoppers who size up or down get the fit they were after?". The usual size is the
    shopper's median on the line's scale (:func:`usual_sizes`); only lines whose shopper has at least
    ``min_history`` sized lines there take part, so the median means something. Offsets are in scale
    steps, rounded half to even, and beyond ±``clip`` fold into the end rows.
    Columns: ``offset``, then the counts and rates of :func:`rates_by`.
    """
    if min_history < 2:
        raise ValueError(f"min_history={min_history} must be at least 2: one order has no usual size")
    o = outcomes(frame)
    usual, history = usual_sizes(frame)
    taking_part = o.counted & frame["size_num"].notna() & (history >= min_history)
    offset = (frame["size_num"] - usual)[taking_part].round().clip(-clip, clip).astype(int)
    parts = pd.DataFrame(
        {
            "offset": offset,
            "orders": 1,
            "small": o.small[offset.index].astype(int),
            "large": o.large[offset.index].astype(int),
        }
    )
    table = parts.groupby("offset").sum().reset_index()
    return with_rates(table, o.basis, z)[["offset", *STAT_COLUMNS]]


def with_rates(table: pd.DataFrame, basis: Basis, z: float = Z95) -> pd.DataFrame:
    """Add the shared rate columns (fit returns, Wilson interval, small/large shares) to group counts."""
    table["fit_returns"] = table["small"] + table["large"]
    table["rate"] = table["fit_returns"] / table["orders"]
    table["ci_low"], table["ci_high"] = wilson(table["fit_returns"], table["orders"], z)
    table["small_rate"] = table["small"] / table["orders"]
    table["large_rate"] = table["large"] / table["orders"]
    table["basis"] = basis
    return table


def size_order(size: str) -> float:
    """A sortable number for a size label: numeric sizes as themselves, XS…XXL by their rank; else NaN."""
    text = str(size).strip().lower()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    if text in LETTER_SIZES:
        return float(LETTER_SIZES.index(text))
    return float("nan")


def size_chart_issues(charts: pd.DataFrame, *, item_brands: pd.Series | None = None,
                      tolerance_cm: float = 4.0) -> pd.DataFrame:  # fmt: skip
    """Inconsistencies in size charts, one row each: ``scope`` (item or brand), ``item_id``, ``brand``,
    ``measurement``, ``size``, ``cm``, ``issue``.

    - ``not_increasing``: a larger size of the same chart is not larger in that measurement;
    - ``brand_disagrees``: items of one brand give the same size measurements more than
      ``tolerance_cm`` apart (a shopper who knows their size in the brand gets a surprise).
    ``item_brands`` (item_id → brand) fills the brand of item charts that do not name one.
    """
    columns = ["scope", "item_id", "brand", "measurement", "size", "cm", "issue"]
    if charts.empty:
        return pd.DataFrame(columns=columns)
    c = charts.copy()
    if item_brands is not None:
        c["brand"] = c["brand"].where(c["brand"].notna(), c["item_id"].map(item_brands))
    c["order"] = c["size"].map(size_order)
    c["chart"] = c["item_id"].where(c["item_id"].notna(), "brand:" + c["brand"].astype(str))
    c["scope"] = np.where(c["item_id"].notna(), "item", "brand")
    ordered = c.dropna(subset=["order"]).sort_values(["chart", "measurement", "order"], kind="stable")
    below = ordered.groupby(["chart", "measurement"], sort=False)["cm"].shift()
    shrinking = ordered[ordered["cm"] <= below].assign(issue="not_increasing: not larger than the size below")
    items = c[c["item_id"].notna() & c["brand"].notna()]
    group = items.groupby(["brand", "size", "measurement"], sort=False)
    spread = group["cm"].transform("max") - group["cm"].transform("min")
    wide = items[(group["item_id"].transform("nunique") > 1) & (spread > tolerance_cm)]
    text = [f"brand_disagrees: {b} items differ by {w:.1f} cm in size {z}"
            for b, w, z in zip(wide["brand"], spread[wide.index], wide["size"], strict=True)]  # fmt: skip
    wide = wide.assign(scope="brand", issue=text).sort_values(["brand", "size", "measurement"], kind="stable")
    out = (
        pd.concat([shrinking, wide])[columns] if len(shrinking) + len(wide) else pd.DataFrame(columns=columns)
    )
    return out.reset_index(drop=True)
