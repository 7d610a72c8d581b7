"""The fit-return analytics of :mod:`sizing.analytics`, run by DuckDB where the order lines are large.

DuckDB scans month-partitioned Parquet (``fitroom sizing export --parquet``, ``fitroom sizing simulate``)
column by column, in parallel and out of core, so 10 M order lines answer in about a second and no
process holds them as a frame. Only the group-level results (at most one row per item) come back to
pandas, where the rate columns and the running-items test are shared with the pandas reference.
The tests hold every table equal to :mod:`sizing.analytics` on the same lines.

An immutable snapshot (the API's, one per data revision) also gets its lines as a DuckDB database file
(:func:`write_database`), opened read-only once per process and shared by every request through cursors
(:meth:`Lines.snapshot`): a dashboard view then costs its query, not a new connection (about 35 ms on
this machine) and a fresh scan of every Parquet file's metadata.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Final

import duckdb
import pandas as pd

from sizing import analytics, export, running
from sizing.analytics import GROUP_COLUMNS, STAT_COLUMNS, UNKNOWN, Basis, GroupBy
from sizing.intervals import Z95
from sizing.scales import category_scale

log = logging.getLogger(__name__)

#: the columns analytics read; Parquet holds more (shopper facts, review text), never read here
LINE_COLUMNS: Final = ("shopper_id", "item_id", "size", "size_num", "ordered_at", "category", "brand", "fit",
                       "return_reason")  # fmt: skip
ORDERS_GLOB: Final = "orders/**/*.parquet"
SIZE_CHARTS: Final = "size_charts.parquet"


#: per (shopper, scale): the usual size (median) and how many sized lines it rests on, over all lines
USUAL_SQL: Final = """
SELECT l.shopper_id, coalesce(sc.scale, ?) AS scale, median(l.size_num) AS usual, count(*) AS n
FROM ({lines}) AS l LEFT JOIN scales AS sc USING (category)
WHERE l.size_num IS NOT NULL GROUP BY 1, 2
"""
#: the filtered lines' ``{columns}`` with their shopper's usual size on their scale and how many sized
#: lines it rests on (NULL without any): joined from the ``usual`` table, or read from a snapshot's lines
JOINED_HISTORY: Final = """
, history AS (
    SELECT {columns}, u.usual, u.n FROM {source} LEFT JOIN scales AS sc USING (category)
    LEFT JOIN usual AS u ON u.shopper_id = o.shopper_id AND u.scale = coalesce(sc.scale, '{default}')
)
"""
STORED_HISTORY: Final = """
, history AS (SELECT {columns}, o.usual_size AS usual, o.usual_n AS n FROM {source})
"""
#: per item: counts and the size-choice evidence of :func:`sizing.analytics.item_evidence`, in SQL
EVIDENCE_COLUMNS: Final = "o.item_id, o.category, o.brand, o.size_num, o.counted, o.is_small, o.is_large"
EVIDENCE_SQL: Final = """
, evidence AS (
    SELECT *, CASE WHEN n >= ? THEN least(greatest(size_num - usual, ?), ?) END
        + ? * ((is_small AND counted)::INTEGER - (is_large AND counted)::INTEGER) AS evidence
    FROM history
)
SELECT item_id, max(category) AS category, max(brand) AS brand, count_if(counted) AS orders,
    count_if(is_small AND counted) AS small, count_if(is_large AND counted) AS large,
    count(evidence) AS shifted, avg(evidence) AS shift_mean, var_samp(evidence) AS shift_var
FROM evidence GROUP BY item_id ORDER BY item_id
"""
#: fit-return counts by rounded step from the usual size, for shoppers with enough history
OFFSET_COLUMNS: Final = "o.size_num, o.is_small, o.is_large"
OFFSET_SOURCE: Final = "(SELECT * FROM o WHERE counted AND size_num IS NOT NULL) AS o"
OFFSET_SQL: Final = """
SELECT least(greatest(round_even(size_num - usual, 0), ?), ?)::INTEGER AS offset, count(*) AS orders,
    count_if(is_small) AS small, count_if(is_large) AS large
FROM history WHERE n >= ? GROUP BY 1 ORDER BY 1
"""
#: marks a snapshot whose orders carry ``usual_size`` and ``usual_n`` (:func:`add_history`)
HISTORY_MARK: Final = "history.json"
#: a snapshot's lines as a DuckDB database (table ``orders``), written by :func:`write_database`
DATABASE: Final = "lines.duckdb"
#: read-only connections kept open per process (the current snapshot and the one it replaced)
OPEN_DATABASES: Final = 2


class MissingData(FileNotFoundError):
    """The folder does not hold the Parquet layout the analytics read; the message says what is missing."""


@dataclass(frozen=True)
class LineFilter:
    """The dashboard's filters: order lines of one category and date range (all when unset)."""

    category: str | None = None
    since: date | None = None
    until: date | None = None

    def sql(self) -> tuple[str, list[object]]:
        """A WHERE clause with ``?`` parameters (never the values spliced into the SQL)."""
        terms: list[str] = ["TRUE"]
        params: list[object] = []
        if self.category is not None:
            terms.append("category = ?")
            params.append(self.category)
        if self.since is not None:
            terms.append("ordered_at >= ?")
            params.append(pd.Timestamp(self.since).to_pydatetime())
        if self.until is not None:
            terms.append("ordered_at < ?")
            params.append((pd.Timestamp(self.until) + pd.Timedelta(days=1)).to_pydatetime())
        return " AND ".join(terms), params

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The same filter on an in-memory frame."""
        keep = pd.Series(True, index=frame.index)
        if self.category is not None:
            keep &= frame["category"] == self.category
        if self.since is not None:
            keep &= frame["ordered_at"] >= pd.Timestamp(self.since)
        if self.until is not None:
            keep &= frame["ordered_at"] < pd.Timestamp(self.until) + pd.Timedelta(days=1)
        return frame if bool(keep.all()) else frame[keep]


class Lines:
    """Order lines DuckDB reads (a Parquet folder or a registered frame), with one filter applied.

    A shopper's usual size on a scale is her median over *all* lines of the source, whatever the filter
    (a category filter must not shorten her history). It is computed once per instance, or read from
    the lines themselves when a snapshot stored it there (:func:`add_history`).
    One connection per instance: make one per request or thread (connecting costs microseconds).
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        relation: str,
        where: LineFilter,
        *,
        stored_history: bool = False,
    ) -> None:
        self._con = con
        clause, self._params = where.sql()
        columns = ", ".join([*LINE_COLUMNS, *(("usual_size", "usual_n") if stored_history else ())])
        self._all = f"SELECT {columns} FROM {relation}"
        self._lines = f"{self._all} WHERE {clause}"
        self._stored = stored_history
        self._history_ready = stored_history

    @classmethod
    def parquet(cls, folder: Path, where: LineFilter = LineFilter()) -> Lines:
        """Lines of ``folder/orders/month=YYYY-MM/*.parquet``; a clear error if the layout is missing."""
        stored = (Path(folder) / HISTORY_MARK).exists()
        return cls(duckdb.connect(), _orders_relation(Path(folder)), where, stored_history=stored)

    @classmethod
    def snapshot(cls, folder: Path, where: LineFilter = LineFilter()) -> Lines:
        """Lines of an immutable snapshot: from its database file through this process's shared
        read-only connection when :func:`write_database` made one, else from its Parquet files."""
        database = Path(folder) / DATABASE
        if not database.is_file():
            return cls.parquet(folder, where)
        stored = (Path(folder) / HISTORY_MARK).exists()
        return cls(_shared_cursor(database), "orders", where, stored_history=stored)

    @classmethod
    def frame(cls, frame: pd.DataFrame, where: LineFilter = LineFilter()) -> Lines:
        """Lines of an in-memory canonical frame (registered, not copied)."""
        con = duckdb.connect()
        con.register("frame_lines", frame[list(LINE_COLUMNS)])
        return cls(con, "frame_lines", where)

    @cached_property
    def basis(self) -> Basis:
        """``returns`` whenever any line has a return reason, else ``fit_feedback`` (as in pandas)."""
        row = self._con.execute(
            f"SELECT count(return_reason) > 0 FROM ({self._lines})", self._params
        ).fetchone()
        return "returns" if row is not None and row[0] else "fit_feedback"

    def query(self, body: str, params: tuple[object, ...] = ()) -> pd.DataFrame:
        """Run ``body`` over the CTE ``o``: the lines plus ``counted``, ``is_small``, ``is_large``."""
        return self._con.execute(self._with_outcomes(body), [*self._params, *params]).df()

    def _with_outcomes(self, body: str) -> str:
        if self.basis == "returns":
            counted, small, large = "TRUE", "return_reason = 'too_small'", "return_reason = 'too_large'"
        else:
            counted, small, large = "fit IS NOT NULL", "fit = 'small'", "fit = 'large'"
        return (
            f"WITH o AS (SELECT *, {counted} AS counted, coalesce({small}, FALSE) AS is_small, "
            f"coalesce({large}, FALSE) AS is_large FROM ({self._lines})) {body}"
        )

    def with_history(self, columns: str, source: str, body: str, params: tuple[object, ...]) -> pd.DataFrame:
        """Run ``body`` over the CTE ``history``: ``columns`` of ``source`` (``o`` or a subquery of it
        named ``o``) with each line's ``usual`` size and its ``n``."""
        self._prepare_history()
        template = STORED_HISTORY if self._stored else JOINED_HISTORY
        cte = template.format(columns=columns, source=source, default=category_scale(None))
        return self.query(cte + body, params)

    def _prepare_history(self) -> None:
        """Register the category scales and compute the usual sizes of all lines (once)."""
        if self._history_ready:
            return
        cats = self._con.execute(f"SELECT DISTINCT category FROM ({self._all})").df()["category"]
        values = [c for c in cats if isinstance(c, str)]
        scales = pd.DataFrame(
            {"category": values, "scale": [category_scale(c) for c in values]}, dtype=object
        )
        self._con.register("scales", scales)
        sql = USUAL_SQL.format(lines=self._all)
        self._con.execute(f"CREATE TEMP TABLE usual AS {sql}", [category_scale(None)])
        self._history_ready = True

    def copy_with_history(self, relation: str, out: Path) -> None:
        """Write ``relation``'s rows plus ``usual_size`` and ``usual_n``, partitioned by month, to ``out``."""
        self._prepare_history()
        target = str(out).replace("'", "''")
        self._con.execute(
            f"COPY (SELECT r.*, u.usual AS usual_size, u.n AS usual_n, "
            f"coalesce(strftime(r.ordered_at, '%Y-%m'), '{export.UNDATED}') AS month "
            f"FROM {relation} AS r LEFT JOIN scales AS sc USING (category) LEFT JOIN usual AS u "
            f"ON u.shopper_id = r.shopper_id AND u.scale = coalesce(sc.scale, ?)) "
            f"TO '{target}' (FORMAT parquet, PARTITION_BY (month))",
            [category_scale(None)],
        )


def _orders_relation(folder: Path) -> str:
    orders = folder / "orders"
    if not folder.is_dir():
        raise MissingData(f"{folder}: no such folder (write one with `fitroom sizing export --parquet DIR`)")
    if not orders.is_dir():
        raise MissingData(f"{orders}: missing; expected orders/month=YYYY-MM/*.parquet under {folder}")
    if not any(orders.glob("*/*.parquet")) and not any(orders.glob("*.parquet")):
        raise MissingData(f"{orders}: no Parquet files in its month=YYYY-MM partitions")
    pattern = str(orders / "**" / "*.parquet").replace("'", "''")
    return f"read_parquet('{pattern}', union_by_name = true, hive_partitioning = false)"


_open_lock = threading.Lock()
_open: OrderedDict[str, duckdb.DuckDBPyConnection] = OrderedDict()


def _shared_cursor(database: Path) -> duckdb.DuckDBPyConnection:
    """A cursor (its own connection, cheap) on this process's read-only connection to ``database``;
    connections to older snapshots beyond :data:`OPEN_DATABASES` are closed (cursors in use keep
    their database open until they finish)."""
    key = str(database)
    with _open_lock:
        con = _open.get(key)
        if con is None:
            con = _open[key] = duckdb.connect(key, read_only=True)
            while len(_open) > OPEN_DATABASES:
                _open.popitem(last=False)[1].close()
        else:
            _open.move_to_end(key)
        return con.cursor()


def write_database(folder: Path) -> None:
    """Copy a snapshot's order lines (the columns analytics read) into ``folder/lines.duckdb``.

    The file is written under a name of its own and renamed into place, so a reader sees the whole
    database or none, and two processes adding it to the same snapshot at once both finish.
    """
    folder = Path(folder)
    relation = _orders_relation(folder)
    history = ("usual_size", "usual_n") if (folder / HISTORY_MARK).exists() else ()
    partial = folder / f".{DATABASE}.{uuid.uuid4().hex}"
    try:
        con = duckdb.connect(str(partial))
        try:
            columns = ", ".join([*LINE_COLUMNS, *history])
            con.execute(f"CREATE TABLE orders AS SELECT {columns} FROM {relation} ORDER BY ordered_at")
        finally:
            con.close()
        partial.rename(folder / DATABASE)
    finally:
        partial.unlink(missing_ok=True)
        Path(f"{partial}.wal").unlink(missing_ok=True)


def add_history(folder: Path) -> None:
    """Give an immutable snapshot's order lines their shopper's usual size (``usual_size``, ``usual_n``):
    later queries read two columns instead of taking a median per shopper over every line again.
    Run it only on a folder nothing else reads yet (the API's snapshot, before it is renamed into place)."""
    folder = Path(folder)
    relation = _orders_relation(folder)
    staged = folder / "orders.history"
    Lines(duckdb.connect(), relation, LineFilter()).copy_with_history(relation, staged)
    if not any(staged.rglob("*.parquet")):  # no order lines: nothing to add, the empty table stays
        shutil.rmtree(staged, ignore_errors=True)
        return
    raw = folder / "orders.raw"
    (folder / "orders").rename(raw)
    staged.rename(folder / "orders")
    shutil.rmtree(raw)
    (folder / HISTORY_MARK).write_text(json.dumps({"columns": ["usual_size", "usual_n"]}) + "\n")


def size_charts(folder: Path) -> pd.DataFrame:
    """The exported size charts (small; empty when the folder has none)."""
    path = Path(folder) / SIZE_CHARTS
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


# --- the tables: the same names, arguments and columns as sizing.analytics -----------------------------


def summary(lines: Lines) -> dict[str, object]:
    """Headline numbers (:func:`sizing.analytics.summary`)."""
    t = (
        lines.query(
            "SELECT count(*) AS order_lines, count_if(counted) AS counted,"
            " count(DISTINCT shopper_id) AS shoppers, count(DISTINCT item_id) AS items,"
            " count_if(is_small) AS small, count_if(is_large) AS large,"
            " min(ordered_at) AS first, max(ordered_at) AS last FROM o"
        )
        .iloc[0]
        .fillna(0)
    )
    n, small, large = int(t["counted"]), int(t["small"]), int(t["large"])
    return {
        "basis": lines.basis,
        "order_lines": int(t["order_lines"]),
        "counted": n,
        "shoppers": int(t["shoppers"]),
        "items": int(t["items"]),
        "fit_returns": small + large,
        "fit_return_rate": (small + large) / n if n else None,
        "small_rate": small / n if n else None,
        "large_rate": large / n if n else None,
        "first_order": pd.Timestamp(t["first"]).isoformat() if t["first"] else None,
        "last_order": pd.Timestamp(t["last"]).isoformat() if t["last"] else None,
    }


def rates_by(lines: Lines, by: GroupBy, *, min_orders: int = 1, z: float = Z95) -> pd.DataFrame:
    """Fit-return rate per group (:func:`sizing.analytics.rates_by`)."""
    if by not in GROUP_COLUMNS:
        raise ValueError(f"by={by!r} must be one of {', '.join(GROUP_COLUMNS)}")
    key = GROUP_COLUMNS[by]
    size_num = ", min(size_num) AS size_num" if by == "size" else ""
    table = lines.query(
        f"SELECT coalesce(CAST({key} AS VARCHAR), ?) AS {key}, count_if(counted) AS orders,"
        f" count_if(is_small AND counted) AS small, count_if(is_large AND counted) AS large{size_num}"
        " FROM o GROUP BY 1 HAVING count_if(counted) >= ?",
        (UNKNOWN, max(min_orders, 1)),
    )
    table[key] = table[key].astype("object")
    table = analytics.with_rates(table, lines.basis, z)
    head = [key, "size_num"] if by == "size" else [key]
    return analytics.order_groups(table[[*head, *STAT_COLUMNS]], by)


def monthly_trend(lines: Lines, *, z: float = Z95) -> pd.DataFrame:
    """Per calendar month (:func:`sizing.analytics.monthly_trend`)."""
    table = lines.query(
        "SELECT date_trunc('month', ordered_at) AS month, count(*) AS orders, count_if(is_small) AS small,"
        " count_if(is_large) AS large FROM o WHERE ordered_at IS NOT NULL AND counted GROUP BY 1 ORDER BY 1"
    )
    table["month"] = pd.to_datetime(table["month"]).astype("datetime64[ns]")
    return analytics.with_rates(table, lines.basis, z)


def rates_by_size_offset(
    lines: Lines, *, min_history: int = 3, clip: int = 6, z: float = Z95
) -> pd.DataFrame:
    """By step from the shopper's usual size (:func:`sizing.analytics.rates_by_size_offset`)."""
    if min_history < 2:
        raise ValueError(f"min_history={min_history} must be at least 2: one order has no usual size")
    table = lines.with_history(OFFSET_COLUMNS, OFFSET_SOURCE, OFFSET_SQL, (-clip, clip, min_history))
    table["offset"] = table["offset"].astype("int64")
    return analytics.with_rates(table, lines.basis, z)[["offset", *STAT_COLUMNS]]


def item_evidence(lines: Lines) -> pd.DataFrame:
    """Per-item counts and size-choice evidence (:func:`sizing.analytics.item_evidence`)."""
    params = (running.MIN_HISTORY, -running.CLIP_STEPS, running.CLIP_STEPS, running.FIT_WEIGHT)
    table = lines.with_history(EVIDENCE_COLUMNS, "o", EVIDENCE_SQL, params)
    for col in ("item_id", "category", "brand"):
        table[col] = table[col].astype("str")
    return table[list(running.EVIDENCE_COLUMNS)]


def items_running(
    lines: Lines, *, min_orders: int = 50, q: float = running.DEFAULT_Q
) -> dict[running.Direction, pd.DataFrame]:
    """Items running small and large (:func:`sizing.analytics.items_running`)."""
    found = running.detect(item_evidence(lines), min_orders=min_orders, q=q)
    return {d: t.assign(basis=lines.basis) for d, t in found.items()}


def item_brands(lines: Lines) -> pd.Series:
    """item_id → brand, for items with one (:func:`sizing.analytics.item_brands`)."""
    t = lines.query(
        "SELECT item_id, max(brand) AS brand FROM o WHERE brand IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    return pd.Series(
        t["brand"].astype("object").to_numpy(), index=t["item_id"].astype("object"), name="brand"
    )
