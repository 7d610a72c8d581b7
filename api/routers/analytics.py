"""``/v1/analytics``: what drives fit returns, for the returns team (JSON tables and one HTML report).

The canonical frame is read from the database once per data version (``store.data_fingerprint``) and
kept in memory, so repeated queries on the 192,544-row RentTheRunway set answer without a reload.
"""

from __future__ import annotations

import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.schemas.analytics import (
    AnalyticsSummary,
    RateRow,
    RatesPublic,
    RunningItem,
    RunningPublic,
    SizeChartIssue,
    SizeChartIssuesPublic,
    SizeOffsetPublic,
    SizeOffsetRow,
    TrendPublic,
    TrendRow,
)
from api.store import data_fingerprint, load_size_charts, load_transactions
from sizing import analytics
from sizing.analytics_report import compute, write_report

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

MinOrders = Annotated[
    int, Query(ge=1, le=1_000_000, description="Only groups with at least this many orders.")
]
Limit = Annotated[int, Query(ge=1, le=10_000, description="Return at most this many rows.")]
Category = Annotated[str | None, Query(max_length=128, description="Only order lines of this category.")]
Since = Annotated[date | None, Query(description="Only order lines on or after this day.")]
Until = Annotated[date | None, Query(description="Only order lines on or before this day.")]

_lock = threading.Lock()
_cache: dict[str, tuple[tuple[object, ...], pd.DataFrame, pd.DataFrame, dict[str, str]]] = {}


def _data(session: SessionDep, settings: SettingsDep) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """(transactions, size charts, rendered-report cache) for the current data version."""
    key = settings.sqlalchemy_url
    fingerprint = data_fingerprint(session)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == fingerprint:
            return hit[1], hit[2], hit[3]
    frame, charts = load_transactions(session), load_size_charts(session)
    with _lock:
        _cache[key] = (fingerprint, frame, charts, {})
        return frame, charts, _cache[key][3]


class LineFilter:
    """The dashboard's filters: order lines of one category and date range (all when unset)."""

    def __init__(self, category: Category = None, since: Since = None, until: Until = None) -> None:
        self.category, self.since, self.until = category, since, until

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        keep = pd.Series(True, index=frame.index)
        if self.category is not None:
            keep &= frame["category"] == self.category
        if self.since is not None:
            keep &= frame["ordered_at"] >= pd.Timestamp(self.since)
        if self.until is not None:
            keep &= frame["ordered_at"] < pd.Timestamp(self.until) + pd.Timedelta(days=1)
        return frame if bool(keep.all()) else frame[keep]


Lines = Annotated[LineFilter, Depends()]


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return table.astype(object).where(table.notna(), None).to_dict("records")


@router.get("/summary", response_model=AnalyticsSummary)
def summary(session: SessionDep, settings: SettingsDep, lines: Lines) -> AnalyticsSummary:
    """Volumes, the basis of the rates, and the overall fit-return, too-small and too-large rates."""
    frame = lines.apply(_data(session, settings)[0])
    return AnalyticsSummary.model_validate(analytics.summary(frame))


@router.get("/fit-returns", response_model=RatesPublic)
def fit_returns(
    session: SessionDep,
    settings: SettingsDep,
    lines: Lines,
    by: Annotated[Literal["item", "brand", "category", "size"], Query(description="Grouping.")] = "category",
    min_orders: MinOrders = 1,
    limit: Limit = 100,
) -> RatesPublic:
    """Fit-return rate per item, brand, category or size, with Wilson 95 % intervals (most orders first)."""
    frame = lines.apply(_data(session, settings)[0])
    table = analytics.rates_by(frame, by, min_orders=min_orders)
    basis = analytics.outcomes(frame).basis
    rows = _records(table.head(limit).rename(columns={analytics.GROUP_COLUMNS[by]: "key"}))
    data = [RateRow.model_validate({**r, "key": str(r["key"])}) for r in rows]
    return RatesPublic(by=by, basis=basis, min_orders=min_orders, count=len(table), data=data)


@router.get("/running", response_model=RunningPublic)
def running(
    session: SessionDep,
    settings: SettingsDep,
    lines: Lines,
    direction: Annotated[Literal["small", "large"], Query(description="Items that run small or large.")],
    min_orders: MinOrders = 20,
    limit: Limit = 100,
) -> RunningPublic:
    """Items whose too-small (too-large) share is above the all-item share beyond its 95 % interval."""
    frame = lines.apply(_data(session, settings)[0])
    table = analytics.running_items(frame, direction=direction, min_orders=min_orders)
    data = [RunningItem.model_validate(r) for r in _records(table.head(limit))]
    basis = analytics.outcomes(frame).basis
    return RunningPublic(direction=direction, basis=basis, min_orders=min_orders, count=len(table), data=data)


@router.get("/trend", response_model=TrendPublic)
def trend(session: SessionDep, settings: SettingsDep, lines: Lines) -> TrendPublic:
    """Monthly orders and fit-return rates (order lines with a date)."""
    frame = lines.apply(_data(session, settings)[0])
    table = analytics.monthly_trend(frame)
    table["month"] = table["month"].dt.date
    return TrendPublic(
        basis=analytics.outcomes(frame).basis, data=[TrendRow.model_validate(r) for r in _records(table)]
    )


@router.get("/size-offset", response_model=SizeOffsetPublic)
def size_offset(
    session: SessionDep,
    settings: SettingsDep,
    lines: Lines,
    min_history: Annotated[
        int, Query(ge=2, le=1000, description="Only shoppers with at least this many sized orders.")
    ] = 3,
) -> SizeOffsetPublic:
    """Too-small and too-large rates by how far the ordered size sits from the shopper's usual size."""
    frame = lines.apply(_data(session, settings)[0])
    table = analytics.rates_by_size_offset(frame, min_history=min_history)
    return SizeOffsetPublic(
        basis=analytics.outcomes(frame).basis,
        min_history=min_history,
        data=[SizeOffsetRow.model_validate(r) for r in _records(table)],
    )


@router.get("/size-chart-issues", response_model=SizeChartIssuesPublic)
def size_chart_issues(
    session: SessionDep, settings: SettingsDep, limit: Limit = 1000
) -> SizeChartIssuesPublic:
    """Size charts whose measurements do not grow with the size, or differ between items of one brand."""
    frame, charts, _ = _data(session, settings)
    brands = (
        frame.dropna(subset=["brand"]).drop_duplicates("item_id", keep="last").set_index("item_id")["brand"]
    )
    table = analytics.size_chart_issues(charts, item_brands=brands)
    return SizeChartIssuesPublic(
        count=len(table), data=[SizeChartIssue.model_validate(r) for r in _records(table.head(limit))]
    )


@router.get("/report.html", response_class=HTMLResponse)
def report_html(session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The full report as one self-contained HTML page (plots embedded); built once per data version."""
    frame, charts, rendered = _data(session, settings)
    if "html" not in rendered:
        if frame.empty:
            raise ApiError(
                404, "no_data", "no order lines in the database; import some with `fitroom sizing import`"
            )
        with tempfile.TemporaryDirectory() as tmp:
            written = write_report(compute(frame, charts), Path(tmp))
            rendered["html"] = written["report.html"].read_text()
    return HTMLResponse(rendered["html"])
