"""The answers of ``/v1/analytics``: computed once per data revision and query, the dashboard's default
views precomputed when an import prepares the revision's snapshot.

Why: the dashboard asks for eight answers at once. Each alone costs 20–120 ms of DuckDB and pandas
on the full RentTheRunway data, but eight at once on two shared cores took over a second each
(``python -m bench.dashboard``). So every answer is kept, keyed on the snapshot folder (one per data
revision: a new import can never be served an old answer) and the query's parameters, in two layers:

- per worker, in memory (the :data:`MEMO_SIZE` most recent), where concurrent requests for the same
  answer wait for the first instead of computing it again — the small and large running-items views
  share one test;
- on disk, ``<snapshot>/views/<digest>.json``, read by every worker: every unfiltered answer, written
  by the first worker that computes it — and the dashboard's default views (:data:`DASHBOARD_DEFAULTS`)
  by :func:`precompute` when an import prepares the snapshot, before anyone asks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, Final, TypeVar

import pandas as pd
from pydantic import BaseModel

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
from sizing import analytics, analytics_duckdb
from sizing.analytics import Basis, GroupBy
from sizing.analytics_duckdb import LineFilter, Lines
from sizing.running import Direction

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
#: answers kept per worker (each a summary or a group-level table: at most one row per item)
MEMO_SIZE: Final = 256
VIEWS: Final = "views"
NO_FILTER: Final = LineFilter()
_lock = threading.Lock()
_memory: OrderedDict[Hashable, Any] = OrderedDict()
_pending: dict[Hashable, threading.Lock] = {}


def _memo(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` once per key in this worker; concurrent callers of one key wait for the first."""
    with _lock:
        if key in _memory:
            _memory.move_to_end(key)
            return _memory[key]
        pending = _pending.setdefault(key, threading.Lock())
    with pending:
        with _lock:
            if key in _memory:
                return _memory[key]
        value = compute()
        with _lock:
            _memory[key] = value
            _pending.pop(key, None)
            while len(_memory) > MEMO_SIZE:
                _memory.popitem(last=False)
    return value


def _view_file(snapshot: Path, key: tuple[object, ...]) -> Path:
    return snapshot / VIEWS / f"{hashlib.sha256(repr(key).encode()).hexdigest()[:32]}.json"


def _answer(
    snapshot: Path, where: LineFilter, key: tuple[object, ...], model: type[M], compute: Callable[[], M]
) -> M:
    """The answer from memory, else from the snapshot's views on disk, else computed (and, when
    unfiltered, written there for the other workers)."""

    def load() -> M:
        stored = _view_file(snapshot, (where, *key))
        if stored.is_file():
            return model.model_validate_json(stored.read_bytes())
        value = compute()
        if where == NO_FILTER:
            _store(stored, value)
        return value

    return _memo((snapshot, where, *key), load)


def _store(path: Path, value: BaseModel) -> None:
    """Write under a name of its own, then rename: a reader sees a whole answer or none."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        path.parent.mkdir(exist_ok=True)
        partial.write_text(value.model_dump_json())
        os.replace(partial, path)
    except OSError as exc:  # a snapshot removed by a newer import, a read-only state folder
        log.warning("analytics view not stored: %s", exc)
        partial.unlink(missing_ok=True)


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return table.astype(object).where(table.notna(), None).to_dict("records")


def summary(snapshot: Path, where: LineFilter) -> AnalyticsSummary:
    """Volumes, the basis of the rates, and the overall rates."""

    def compute() -> AnalyticsSummary:
        return AnalyticsSummary.model_validate(analytics_duckdb.summary(Lines.snapshot(snapshot, where)))

    return _answer(snapshot, where, ("summary",), AnalyticsSummary, compute)


def rates(snapshot: Path, where: LineFilter, by: GroupBy, min_orders: int, limit: int) -> RatesPublic:
    """Fit-return rate per group, most orders first."""

    def compute() -> RatesPublic:
        lines = Lines.snapshot(snapshot, where)
        table = analytics_duckdb.rates_by(lines, by, min_orders=min_orders)
        rows = _records(table.head(limit).rename(columns={analytics.GROUP_COLUMNS[by]: "key"}))
        data = [RateRow.model_validate({**r, "key": str(r["key"])}) for r in rows]
        return RatesPublic(by=by, basis=lines.basis, min_orders=min_orders, count=len(table), data=data)

    return _answer(snapshot, where, ("fit-returns", by, min_orders, limit), RatesPublic, compute)


def running(
    snapshot: Path, where: LineFilter, direction: Direction, min_orders: int, limit: int
) -> RunningPublic:
    """Items running small or large; one test per filter serves both directions."""

    def both() -> tuple[dict[Direction, pd.DataFrame], Basis]:
        lines = Lines.snapshot(snapshot, where)
        return analytics_duckdb.items_running(lines, min_orders=min_orders), lines.basis

    def compute() -> RunningPublic:
        tables, basis = _memo((snapshot, "running-tables", where, min_orders), both)
        table = tables[direction]
        data = [RunningItem.model_validate(r) for r in _records(table.head(limit))]
        return RunningPublic(
            direction=direction, basis=basis, min_orders=min_orders, count=len(table), data=data
        )

    return _answer(snapshot, where, ("running", direction, min_orders, limit), RunningPublic, compute)


def trend(snapshot: Path, where: LineFilter) -> TrendPublic:
    """Monthly orders and rates."""

    def compute() -> TrendPublic:
        lines = Lines.snapshot(snapshot, where)
        table = analytics_duckdb.monthly_trend(lines)
        table["month"] = table["month"].dt.date
        return TrendPublic(basis=lines.basis, data=[TrendRow.model_validate(r) for r in _records(table)])

    return _answer(snapshot, where, ("trend",), TrendPublic, compute)


def size_offset(snapshot: Path, where: LineFilter, min_history: int) -> SizeOffsetPublic:
    """Rates by step from the shopper's usual size."""

    def compute() -> SizeOffsetPublic:
        lines = Lines.snapshot(snapshot, where)
        table = analytics_duckdb.rates_by_size_offset(lines, min_history=min_history)
        rows = [SizeOffsetRow.model_validate(r) for r in _records(table)]
        return SizeOffsetPublic(basis=lines.basis, min_history=min_history, data=rows)

    return _answer(snapshot, where, ("size-offset", min_history), SizeOffsetPublic, compute)


def chart_issues(snapshot: Path, limit: int) -> SizeChartIssuesPublic:
    """Size-chart inconsistencies (not filtered: charts have no dates or lines)."""

    def compute() -> SizeChartIssuesPublic:
        brands = analytics_duckdb.item_brands(Lines.snapshot(snapshot))
        table = analytics.size_chart_issues(analytics_duckdb.size_charts(snapshot), item_brands=brands)
        rows = [SizeChartIssue.model_validate(r) for r in _records(table.head(limit))]
        return SizeChartIssuesPublic(count=len(table), data=rows)

    return _answer(snapshot, NO_FILTER, ("size-chart-issues", limit), SizeChartIssuesPublic, compute)


#: what /dashboard asks before any filter (web/src/dashboard.js: minimum orders 20, the category list
#: with none); a page that asks otherwise is answered all the same, only computed on its first request
DASHBOARD_DEFAULTS: Final[tuple[Callable[[Path], BaseModel], ...]] = (
    lambda s: summary(s, NO_FILTER),
    lambda s: trend(s, NO_FILTER),
    *(lambda s, by=by: rates(s, NO_FILTER, by, 20, 200) for by in ("category", "brand", "size", "item")),
    lambda s: rates(s, NO_FILTER, "category", 1, 200),
    lambda s: running(s, NO_FILTER, "small", 20, 100),
    lambda s: running(s, NO_FILTER, "large", 20, 100),
    lambda s: size_offset(s, NO_FILTER, 3),
    lambda s: chart_issues(s, 1000),
)


def precompute(snapshot: Path) -> int:
    """Compute the dashboard's default views into ``snapshot/views`` (once: stored views are kept);
    returns how many views the folder holds."""
    for view in DASHBOARD_DEFAULTS:
        view(Path(snapshot))
    return len(list((Path(snapshot) / VIEWS).glob("*.json")))
