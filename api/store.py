"""Canonical frames in and out of the size-fit tables, on SQLite and PostgreSQL alike.

Writes are all-or-nothing: every statement of one import runs in the caller's session, so a failure
(a bad row, an unknown order id, a database error) rolls the whole import back. They are idempotent:
rows are upserted by id, so importing a file twice, or a file with duplicate rows, changes nothing the
second time. Bulk Core statements in chunks keep the full RentTheRunway set (192,544 rows) to seconds.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy import Connection, Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from api.db.revision_tables import DataRevision
from api.db.session import session_scope
from api.db.sizing_tables import Item, OrderLine, Return, Review, Shopper, SizeChart
from sizing import analytics_duckdb, export
from sizing.ingest import ImportResult, ValidationReport
from sizing.ingest.validate import conform
from sizing.schema import SHOPPER_COLUMNS, TRANSACTION_COLUMNS

log = logging.getLogger(__name__)

SHOPPER: Table = Shopper.__table__  # type: ignore[assignment]
ITEM: Table = Item.__table__  # type: ignore[assignment]
ORDER_LINE: Table = OrderLine.__table__  # type: ignore[assignment]
RETURN: Table = Return.__table__  # type: ignore[assignment]
REVIEW: Table = Review.__table__  # type: ignore[assignment]
SIZE_CHART: Table = SizeChart.__table__  # type: ignore[assignment]
DATA_REVISION: Table = DataRevision.__table__  # type: ignore[assignment]
CHUNK = 5000


class ImportRejected(Exception):
    """The import wrote nothing; ``report`` lists every problem by row and column."""

    def __init__(self, report: ValidationReport):
        super().__init__(report.summary())
        self.report = report


@dataclass
class WriteSummary:
    """Rows upserted per table by one import, and how long it took."""

    kind: str
    rows: int
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def import_result(url: str, result: ImportResult, *, progress: bool = False) -> WriteSummary:
    """Write one validated import in its own transaction: all of it, or (on any error) nothing."""
    with session_scope(url) as session:
        return write(session, result, progress=progress)


def write(session: Session, result: ImportResult, *, progress: bool = False) -> WriteSummary:
    """Upsert ``result`` into the session's database without committing; raise ImportRejected on errors."""
    if not result.report.ok:
        raise ImportRejected(result.report)
    start = time.perf_counter()
    writers = {
        "transactions": _write_transactions,
        "returns": _write_returns,
        "reviews": _write_reviews,
        "size_charts": _write_size_charts,
    }
    with _progress(progress) as bar:
        tables = writers[result.kind](session, result.frame, result.report, bar)
    _bump_revision(session)
    summary = WriteSummary(result.kind, len(result.frame), tables, time.perf_counter() - start)
    log.info("imported %s: %s in %.1f s", result.kind, tables, summary.seconds)
    return summary


def load_transactions(session: Session, *, source: str | None = None) -> pd.DataFrame:
    """Every order line joined with its shopper, item, review and return, as the canonical frame.

    Shopper facts are the shopper's stored profile (the latest known values), not per-order snapshots.
    Rows are ordered by ``ordered_at`` (undated last) then ``order_id``. Each table is read on its own
    and joined in pandas: on SQLite that is about three times faster than the SQL join.
    """
    ol, sh, it, rv, rt = ORDER_LINE, SHOPPER, ITEM, REVIEW, RETURN
    lines_stmt = select(*_line_columns())
    if source is not None:
        lines_stmt = lines_stmt.where(ol.c.source == source)
    shoppers = select(sh.c.id.label("shopper_id"), *[sh.c[c] for c in SHOPPER_COLUMNS])
    items = select(it.c.id.label("item_id"), it.c.category, it.c.brand)
    reviews = select(
        rv.c.order_line_id.label("order_id"), rv.c.fit, rv.c.rating, rv.c.text.label("review_text")
    )
    returns = select(rt.c.order_line_id.label("order_id"), rt.c.reason.label("return_reason"))
    frame = _read(session, lines_stmt)
    for stmt, key in (
        (shoppers, "shopper_id"),
        (items, "item_id"),
        (reviews, "order_id"),
        (returns, "order_id"),
    ):
        frame = frame.merge(_read(session, stmt), on=key, how="left")
    frame = conform(frame.reindex(columns=list(TRANSACTION_COLUMNS)))
    frame = frame.sort_values(["ordered_at", "order_id"], kind="stable", na_position="last")
    return frame.reset_index(drop=True)


def _line_columns() -> list[Any]:
    """The order line's own columns of the canonical frame, as labelled SELECT columns."""
    ol = ORDER_LINE
    rented_for = ol.c.extra["rented_for"].as_string().label("rented_for")
    return [ol.c.id.label("order_id"), ol.c.shopper_id, ol.c.item_id, ol.c.size, ol.c.size_num,
            ol.c.ordered_at, ol.c.source, rented_for]  # fmt: skip


def iter_transactions(session: Session, *, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """The canonical frame of :func:`load_transactions`, in chunks of ``chunk_rows`` order lines (by id).

    One SQL join through a server-side cursor on PostgreSQL (a plain cursor streams on SQLite), so
    no table is ever held whole: this is how ``fitroom sizing export`` and the analytics snapshot
    read a database of any size.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows={chunk_rows} must be at least 1")
    ol, sh, it, rv, rt = ORDER_LINE, SHOPPER, ITEM, REVIEW, RETURN
    stmt = (
        select(
            *_line_columns(),
            *[sh.c[c] for c in SHOPPER_COLUMNS],
            it.c.category,
            it.c.brand,
            rv.c.fit,
            rt.c.reason.label("return_reason"),
            rv.c.rating,
            rv.c.text.label("review_text"),
        )  # fmt: skip
        .select_from(
            ol.join(sh, sh.c.id == ol.c.shopper_id)
            .join(it, it.c.id == ol.c.item_id)
            .outerjoin(rv, rv.c.order_line_id == ol.c.id)
            .outerjoin(rt, rt.c.order_line_id == ol.c.id)
        )
        .order_by(ol.c.id)
    )
    for chunk in _stream(session, stmt, chunk_rows):
        yield conform(chunk.reindex(columns=list(TRANSACTION_COLUMNS)))


def export_parquet(session: Session, out: Path, *, chunk_rows: int = 100_000) -> list[Path]:
    """Write the orders (with their outcomes) month-partitioned and the size charts to ``out``, streaming
    (:mod:`sizing.export`); the layout ``fitroom sizing simulate`` writes and the analytics read."""
    out = Path(out)
    paths = export.write_partitioned(
        iter_transactions(session, chunk_rows=chunk_rows), out, "orders", export.ORDERS, month_of="ordered_at"
    )
    paths.append(
        export.write_table(load_size_charts(session), out / "size_charts.parquet", export.SIZE_CHARTS)
    )
    return paths


def analytics_snapshot(session: Session, root: Path) -> Path:
    """The Parquet export of the data's current revision under ``root``, written on first use, with
    each line's usual size and a DuckDB database file of the lines (:mod:`sizing.analytics_duckdb`).

    Every process (uvicorn worker, CLI) shares the files instead of holding a frame; a new import
    gives a new revision token and so a new folder. The export goes to a private folder and is renamed
    into place, so readers never see half a snapshot; older snapshots are removed.
    """
    folder = Path(root) / data_revision(session)
    if folder.is_dir():
        if not (folder / analytics_duckdb.DATABASE).is_file():  # a snapshot from before the database file
            analytics_duckdb.write_database(folder)
        return folder
    partial = Path(root) / f".partial-{uuid.uuid4().hex}"
    try:
        export_parquet(session, partial)
        analytics_duckdb.add_history(partial)
        analytics_duckdb.write_database(partial)
        partial.rename(folder)
    except OSError:
        if not folder.is_dir():  # not merely another process finishing the same snapshot first
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    for old in Path(root).iterdir():
        if old != folder and not old.name.startswith(".partial-"):
            shutil.rmtree(old, ignore_errors=True)
    log.info("analytics snapshot %s", folder)
    return folder


def load_size_charts(session: Session) -> pd.DataFrame:
    """All size-chart rows: item_id, brand, size, measurement, cm."""
    sc = SIZE_CHART
    stmt = select(sc.c.item_id, sc.c.brand, sc.c.size, sc.c.measurement, sc.c.cm).order_by(sc.c.id)
    return _read(session, stmt)


def count_order_lines(session: Session, *, source: str | None = None) -> int:
    """How many order lines are stored (of one source, if given)."""
    stmt = select(func.count()).select_from(ORDER_LINE)
    if source is not None:
        stmt = stmt.where(ORDER_LINE.c.source == source)
    return int(session.execute(stmt).scalar_one())


# --- writers ---------------------------------------------------------------------------------------------


def _write_transactions(
    session: Session, frame: pd.DataFrame, _: ValidationReport, bar: _Bar
) -> dict[str, int]:
    ordered = frame.sort_values("ordered_at", kind="stable", na_position="first")
    shoppers = (
        ordered.groupby("shopper_id", sort=True)[["source", *SHOPPER_COLUMNS]].last().reset_index()
    ).rename(columns={"shopper_id": "id"})
    shoppers["extra"] = None
    items = ordered.groupby("item_id", sort=True)[["source", "brand", "category"]].last().reset_index()
    items = items.rename(columns={"item_id": "id"})
    lines = frame[["order_id", "source", "shopper_id", "item_id", "size", "size_num", "ordered_at"]].rename(
        columns={"order_id": "id"}
    )
    lines["extra"] = [None if pd.isna(v) else {"rented_for": v} for v in frame["rented_for"]]
    has_review = frame[["fit", "rating", "review_text"]].notna().any(axis=1)
    reviews = frame.loc[has_review, ["order_id", "rating", "fit", "review_text"]].rename(
        columns={"order_id": "order_line_id", "review_text": "text"}
    )
    reviews["reviewed_at"] = None
    returns = frame.loc[frame["return_reason"].notna(), ["order_id", "return_reason"]].rename(
        columns={"order_id": "order_line_id", "return_reason": "reason"}
    )
    returns["returned_at"] = None
    counts = {}
    for table, rows, keys in (
        (SHOPPER, shoppers, ["id"]),
        (ITEM, items, ["id"]),
        (ORDER_LINE, lines, ["id"]),
        (REVIEW, reviews, ["order_line_id"]),
        (RETURN, returns, ["order_line_id"]),
    ):
        counts[table.name] = _upsert(session, table, rows, keys, bar)
    return counts


def _write_returns(
    session: Session, frame: pd.DataFrame, report: ValidationReport, bar: _Bar
) -> dict[str, int]:
    _require_known(session, ORDER_LINE.c.id, frame["order_id"], "order_id", "order", report)
    rows = frame.rename(columns={"order_id": "order_line_id"})[["order_line_id", "reason", "returned_at"]]
    return {RETURN.name: _upsert(session, RETURN, rows, ["order_line_id"], bar)}


def _write_reviews(
    session: Session, frame: pd.DataFrame, report: ValidationReport, bar: _Bar
) -> dict[str, int]:
    _require_known(session, ORDER_LINE.c.id, frame["order_id"], "order_id", "order", report)
    rows = frame.rename(columns={"order_id": "order_line_id", "review_text": "text"})
    rows = rows[["order_line_id", "rating", "fit", "text", "reviewed_at"]]
    return {REVIEW.name: _upsert(session, REVIEW, rows, ["order_line_id"], bar)}


def _write_size_charts(
    session: Session, frame: pd.DataFrame, report: ValidationReport, bar: _Bar
) -> dict[str, int]:
    """A size-chart file replaces the charts of the items and brands it lists (idempotent re-imports)."""
    _require_known(session, ITEM.c.id, frame["item_id"].dropna(), "item_id", "item", report)
    item_ids = sorted(frame["item_id"].dropna().unique())
    brands = sorted(frame.loc[frame["item_id"].isna(), "brand"].dropna().unique())
    for chunk in _chunks(item_ids):
        session.execute(delete(SIZE_CHART).where(SIZE_CHART.c.item_id.in_(chunk)))
    for chunk in _chunks(brands):
        session.execute(
            delete(SIZE_CHART).where(SIZE_CHART.c.item_id.is_(None), SIZE_CHART.c.brand.in_(chunk))
        )
    records = _records(frame[["item_id", "brand", "size", "measurement", "cm"]])
    task = bar.add(SIZE_CHART.name, len(records))
    for chunk in _chunks(records):
        session.execute(SIZE_CHART.insert(), chunk)
        bar.advance(task, len(chunk))
    return {SIZE_CHART.name: len(records)}


# --- helpers ---------------------------------------------------------------------------------------------


def _read(session: Session, stmt: Any) -> pd.DataFrame:
    """Run a SELECT through the driver and let pandas convert whole columns (no per-value processing)."""
    conn = session.connection()
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)
    finally:
        cursor.close()


def _stream(session: Session, stmt: Any, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Frames of at most ``chunk_rows`` rows of a SELECT, fetched as they are read."""
    conn = session.connection()
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw = conn.connection.dbapi_connection
    named = conn.dialect.name == "postgresql"
    cursor = raw.cursor(name="fitroom_stream") if named else raw.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        columns = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(chunk_rows):
            yield pd.DataFrame(rows, columns=columns)
    finally:
        cursor.close()


def _require_known(
    session: Session, column: Any, ids: pd.Series, field_name: str, kind: str, report: ValidationReport
) -> None:
    """Rows pointing at ids the database does not hold are errors; the import is rejected with them all."""
    wanted = sorted(set(ids.dropna()))
    known: set[str] = set()
    for chunk in _chunks(wanted):
        known.update(session.execute(select(column).where(column.in_(chunk))).scalars())
    unknown = ids[~ids.isin(known)]
    for row, value in unknown.items():
        report.error(int(row), field_name, f"unknown {kind} id (import the {kind}s first)", value)
    if not report.ok:
        raise ImportRejected(report)


def _upsert(session: Session, table: Table, frame: pd.DataFrame, keys: list[str], bar: _Bar) -> int:
    """Insert rows, or update the existing row with the same key; a missing new value keeps the old one.

    The statement is compiled once and run through the driver's executemany, which is several times
    faster than per-row parameter processing for the 192,544-row RentTheRunway import.
    """
    if frame.empty:
        return 0
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return _upsert_postgres(conn, table, frame, keys, bar)
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = insert(table)
    updates = {
        c.name: func.coalesce(stmt.excluded[c.name], table.c[c.name])
        for c in table.columns
        if c.name not in keys and c.name in frame.columns
    }
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=updates)
    rows = _driver_rows(frame, conn.dialect.name)
    task = bar.add(table.name, len(rows))
    for chunk in _chunks(rows):
        _executemany(conn, stmt, list(frame.columns), chunk)
        bar.advance(task, len(chunk))
    return len(rows)


def _upsert_postgres(conn: Connection, table: Table, frame: pd.DataFrame, keys: list[str], bar: _Bar) -> int:
    """PostgreSQL: COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT (fast bulk upsert)."""
    quote = conn.dialect.identifier_preparer.quote
    target, staging = quote(table.name), quote(f"_import_{table.name}")
    cols = ", ".join(quote(c) for c in frame.columns)
    updates = ", ".join(
        f"{quote(c)} = COALESCE(EXCLUDED.{quote(c)}, {target}.{quote(c)})"
        for c in frame.columns
        if c not in keys
    )
    rows = _driver_rows(frame, "postgresql")
    task = bar.add(table.name, len(rows))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"CREATE TEMPORARY TABLE {staging} (LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP")
        with cursor.copy(f"COPY {staging} ({cols}) FROM STDIN") as copy:
            for chunk in _chunks(rows):
                for row in chunk:
                    copy.write_row(row)
                bar.advance(task, len(chunk))
        conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        cursor.execute(
            f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {staging} "
            f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) {conflict}"
        )
        cursor.execute(f"DROP TABLE {staging}")
    finally:
        cursor.close()
    return len(rows)


def _executemany(conn: Connection, stmt: Any, columns: list[str], rows: Sequence[tuple[Any, ...]]) -> None:
    compiled = stmt.compile(dialect=conn.dialect, column_keys=columns)
    if compiled.positional:
        order = [columns.index(name) for name in compiled.positiontup]
        params: list[Any] = [tuple(r[i] for i in order) for r in rows]
    else:
        params = [dict(zip(columns, r, strict=True)) for r in rows]
    conn.exec_driver_sql(str(compiled), params)


def _driver_rows(frame: pd.DataFrame, dialect: str) -> list[tuple[Any, ...]]:
    """Rows as tuples of plain values the driver takes as-is: None for missing, JSON as text,
    datetimes as Python datetimes (PostgreSQL) or in SQLAlchemy's SQLite text format."""
    columns: list[list[Any]] = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            if dialect == "sqlite":
                values = col.dt.strftime("%Y-%m-%d %H:%M:%S.%f").astype(object)
                columns.append(values.where(col.notna(), None).tolist())
            else:
                columns.append([None if pd.isna(v) else v.to_pydatetime() for v in col])
        elif name == "extra":
            columns.append([None if v is None else json.dumps(v) for v in col])
        else:
            columns.append(col.astype(object).where(col.notna(), None).tolist())
    return list(zip(*columns, strict=True))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with None for every missing value (NaN, NaT, pd.NA) and plain Python datetimes."""
    out = frame.astype(object).where(frame.notna(), None)
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            out[col] = [None if v is None else v.to_pydatetime() for v in out[col]]
    return out.to_dict("records")


def _chunks(seq: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


class _Bar:
    """A rich progress bar per table, or nothing (API requests and tests stay quiet)."""

    def __init__(self, progress: Progress | None):
        self._progress = progress

    def add(self, name: str, total: int) -> TaskID | None:
        return None if self._progress is None else self._progress.add_task(name, total=total)

    def advance(self, task: TaskID | None, n: int) -> None:
        if self._progress is not None and task is not None:
            self._progress.advance(task, n)


@contextmanager
def _progress(enabled: bool) -> Iterator[_Bar]:
    if not enabled:
        yield _Bar(None)
        return
    columns = (TextColumn("{task.description:>12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        yield _Bar(progress)


def data_revision(session: Session) -> str:
    """The token of the data's current revision: it changes in every import transaction (cache key)."""
    return str(session.execute(select(DATA_REVISION.c.token).where(DATA_REVISION.c.id == 1)).scalar_one())


def _bump_revision(session: Session) -> None:
    """Give the data a new revision inside the import's transaction: it commits or rolls back with it."""
    stmt = (
        update(DATA_REVISION)
        .where(DATA_REVISION.c.id == 1)
        .values(revision=DATA_REVISION.c.revision + 1, token=uuid.uuid4().hex)
    )
    session.execute(stmt)
