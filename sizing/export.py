"""Canonical tables out as month-partitioned Parquet, chunk by chunk (the layout the simulator writes).

``<out>/<table>/month=YYYY-MM/part-NNNNN.parquet`` (Hive layout; ``month=unknown`` for undated rows),
one part per chunk and month, so only one chunk is ever in memory; ``size_charts.parquet`` sits at the
top. DuckDB, Dask and pandas read the folder as one table. Every part of a table has the same Arrow
schema, so readers never meet a column that is all-null in one part and typed in another.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sizing.schema import SHOPPER_NUMERIC, TRANSACTION_COLUMNS

log = logging.getLogger(__name__)

UNDATED: Final = "unknown"
_FLOATS: Final = {"size_num", "rating", *SHOPPER_NUMERIC}


def _schema(columns: Iterable[str], timestamps: Iterable[str]) -> pa.Schema:
    times = set(timestamps)
    return pa.schema(
        [
            (c, pa.timestamp("us") if c in times else pa.float64() if c in _FLOATS else pa.string())
            for c in columns
        ]
    )


#: the canonical orders table: one row per order line with its outcomes (``sizing.schema``)
ORDERS: Final = _schema(TRANSACTION_COLUMNS, ["ordered_at"])
RETURNS: Final = _schema(["order_id", "reason", "returned_at"], ["returned_at"])
REVIEWS: Final = _schema(["order_id", "fit", "rating", "review_text", "reviewed_at"], ["reviewed_at"])
SIZE_CHARTS: Final = pa.schema(
    [("item_id", pa.string()), ("brand", pa.string()), ("size", pa.string()), ("measurement", pa.string()),
     ("cm", pa.float64())]
)  # fmt: skip


def write_partitioned(
    chunks: Iterable[pd.DataFrame], out: Path, table: str, schema: pa.Schema, *, month_of: str
) -> list[Path]:
    """Write each chunk's rows to ``out/table/month=YYYY-MM/part-<chunk>.parquet`` by ``month_of``
    (a datetime column of the chunk; it need not be in ``schema``). A table with no rows still gets
    one empty part, so readers see its columns."""
    folder = Path(out) / table
    paths: list[Path] = []
    for k, chunk in enumerate(chunks):
        month = pd.to_datetime(chunk[month_of]).dt.strftime("%Y-%m").fillna(UNDATED).to_numpy()
        for value in sorted(set(month)):
            path = folder / f"month={value}" / f"part-{k:05d}.parquet"
            paths.append(_write(chunk[month == value], path, schema))
    if not paths:
        paths.append(_write(pd.DataFrame(), folder / f"month={UNDATED}" / "part-00000.parquet", schema))
    log.info("wrote %s: %d parts in %s", table, len(paths), folder)
    return paths


def write_table(frame: pd.DataFrame, path: Path, schema: pa.Schema) -> Path:
    """One unpartitioned table (small ones: size charts)."""
    return _write(frame, Path(path), schema)


def _write(frame: pd.DataFrame, path: Path, schema: pa.Schema) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {
        f.name: frame[f.name] if f.name in frame.columns else pd.Series(None, index=frame.index, dtype=object)
        for f in schema
    }
    table = pa.Table.from_pandas(pd.DataFrame(columns), schema=schema, preserve_index=False)
    pq.write_table(table, path)
    return path
