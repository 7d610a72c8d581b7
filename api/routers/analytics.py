"""``/v1/analytics``: what drives fit returns, for the returns team (JSON tables and one HTML report).

Each data revision (``store.data_revision``, bumped by every import) is exported once to Parquet and a
DuckDB database file under the state folder, and DuckDB answers every query from them: workers share
them and none holds the order lines in memory, and an import that changes one fit label gives the next
query a new revision. Answers are kept per revision and query (:mod:`api.analytics_views`).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from api import analytics_views as views
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.schemas.analytics import (
    AnalyticsSummary,
    RatesPublic,
    RunningPublic,
    SavingsPublic,
    SizeChartIssuesPublic,
    SizeOffsetPublic,
    TrendPublic,
)
from api.settings import Settings
from api.store import analytics_snapshot
from sizing import analytics_duckdb, savings
from sizing.analytics_duckdb import LineFilter, Lines
from sizing.analytics_report import RUNNING_MIN_ORDERS, compute, write_report

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

MinOrders = Annotated[
    int, Query(ge=1, le=1_000_000, description="Only groups with at least this many orders.")
]
Limit = Annotated[int, Query(ge=1, le=10_000, description="Return at most this many rows.")]
Category = Annotated[str | None, Query(max_length=128, description="Only order lines of this category.")]
Since = Annotated[date | None, Query(description="Only order lines on or after this day.")]
Until = Annotated[date | None, Query(description="Only order lines on or before this day.")]


def _filter(category: Category = None, since: Since = None, until: Until = None) -> LineFilter:
    return LineFilter(category=category, since=since, until=until)


Filter = Annotated[LineFilter, Depends(_filter)]


def _snapshot(session: SessionDep, settings: SettingsDep) -> Path:
    return analytics_snapshot(session, _root(settings))


Snapshot = Annotated[Path, Depends(_snapshot)]


def _root(settings: Settings) -> Path:
    return settings.state_dir / "analytics"


@router.get("/summary", response_model=AnalyticsSummary)
def summary(snapshot: Snapshot, where: Filter) -> AnalyticsSummary:
    """Volumes, the basis of the rates, and the overall fit-return, too-small and too-large rates."""
    return views.summary(snapshot, where)


@router.get("/fit-returns", response_model=RatesPublic)
def fit_returns(
    snapshot: Snapshot,
    where: Filter,
    by: Annotated[Literal["item", "brand", "category", "size"], Query(description="Grouping.")] = "category",
    min_orders: MinOrders = 1,
    limit: Limit = 100,
) -> RatesPublic:
    """Fit-return rate per item, brand, category or size, with Wilson 95 % intervals (most orders first)."""
    return views.rates(snapshot, where, by, min_orders, limit)


@router.get("/running", response_model=RunningPublic)
def running(
    snapshot: Snapshot,
    where: Filter,
    direction: Annotated[Literal["small", "large"], Query(description="Items that run small or large.")],
    min_orders: MinOrders = RUNNING_MIN_ORDERS,
    limit: Limit = 100,
) -> RunningPublic:
    """Items that run small (large) against their brand, flagged with the false-discovery rate at 5 %."""
    return views.running(snapshot, where, direction, min_orders, limit)


@router.get("/trend", response_model=TrendPublic)
def trend(snapshot: Snapshot, where: Filter) -> TrendPublic:
    """Monthly orders and fit-return rates (order lines with a date)."""
    return views.trend(snapshot, where)


@router.get("/size-offset", response_model=SizeOffsetPublic)
def size_offset(
    snapshot: Snapshot,
    where: Filter,
    min_history: Annotated[
        int, Query(ge=2, le=1000, description="Only shoppers with at least this many sized orders.")
    ] = 3,
) -> SizeOffsetPublic:
    """Too-small and too-large rates by how far the ordered size sits from the shopper's usual size."""
    return views.size_offset(snapshot, where, min_history)


@router.get("/size-chart-issues", response_model=SizeChartIssuesPublic)
def size_chart_issues(snapshot: Snapshot, limit: Limit = 1000) -> SizeChartIssuesPublic:
    """Size charts whose measurements do not grow with the size, or differ between items of one brand."""
    return views.chart_issues(snapshot, limit)


@router.get("/report.html", response_class=HTMLResponse)
def report_html(snapshot: Snapshot) -> HTMLResponse:
    """The full report as one self-contained HTML page (plots embedded); built once per data revision."""
    cached = snapshot / "report.html"
    if not cached.exists():
        lines = Lines.snapshot(snapshot)
        if not analytics_duckdb.summary(lines)["order_lines"]:
            raise ApiError(
                404, "no_data", "no order lines in the database; import some with `fitroom sizing import`"
            )
        with tempfile.TemporaryDirectory() as tmp:
            written = write_report(compute(lines, analytics_duckdb.size_charts(snapshot)), Path(tmp))
            partial = snapshot / f".report-{Path(tmp).name}.html"
            partial.write_text(written["report.html"].read_text())
            partial.rename(cached)
    return HTMLResponse(cached.read_text())


@router.get("/savings", response_model=SavingsPublic)
def savings_decision(settings: SettingsDep) -> SavingsPublic:
    """The size-nudge cost decision the service flags with: the chosen threshold and the whole curve
    (written by `fitroom analytics savings`)."""
    decision = savings.read_decision(settings.models_dir)
    if decision is None:
        raise ApiError(404, "no_data", "no savings analysis yet; run `fitroom analytics savings`")
    return SavingsPublic.model_validate(decision)
