"""Canonical orders (with outcomes) from a partitioned Parquet folder, as a Dask DataFrame.

The layout is the one ``fitroom sizing simulate`` and ``fitroom sizing export --parquet`` write:
``orders/month=YYYY-MM/part-NNNNN.parquet``, with ``size_charts.parquet`` beside it when known.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dask.dataframe as dd
import pandas as pd

from sizing.features import CHART_MEASUREMENTS, FLOAT_INPUTS, TEXT_INPUTS
from sizing.layer import chart_column
from sizing.rec_metrics import attach_charts
from sizing.schema import FIT_LABELS

log = logging.getLogger(__name__)

#: the columns training reads (features, ids for folds, the label)
COLUMNS = ("order_id", *dict.fromkeys(c for c in (*FLOAT_INPUTS, *TEXT_INPUTS) if not c.startswith("chart_")))


def order_parts(data_dir: Path) -> list[Path]:
    """The order partition files; FileNotFoundError names the folder and the expected layout."""
    orders = Path(data_dir) / "orders"
    parts = sorted(orders.glob("month=*/*.parquet")) if orders.is_dir() else []
    if not parts:
        raise FileNotFoundError(
            f"no order partitions in {orders} (expected orders/month=YYYY-MM/part-NNNNN.parquet, "
            "as `fitroom sizing simulate` or `fitroom sizing export --parquet` writes)"
        )
    return parts


def read_labelled(data_dir: Path) -> dd.DataFrame:
    """Labelled order lines with their size-chart columns, one Dask partition per Parquet file."""
    parts = order_parts(data_dir)
    frame = dd.read_parquet([str(p) for p in parts])
    present = [c for c in (*COLUMNS, "fit") if c in frame.columns]
    frame = frame[present]
    frame = frame[frame["fit"].isin(list(FIT_LABELS))]
    charts_file = Path(data_dir) / "size_charts.parquet"
    if charts_file.is_file():
        charts = pd.read_parquet(charts_file)
        meta = frame._meta.assign(**{chart_column(m): pd.Series(dtype=float) for m in CHART_MEASUREMENTS})
        frame = frame.map_partitions(_with_charts, charts, meta=meta)
    log.info("reading %d order partitions from %s", len(parts), data_dir)
    return frame


def _with_charts(part: pd.DataFrame, charts: pd.DataFrame) -> pd.DataFrame:
    out = attach_charts(part, charts)
    chart_cols = [chart_column(m) for m in CHART_MEASUREMENTS]
    return out.reindex(columns=[*part.columns, *chart_cols])
