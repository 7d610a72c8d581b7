"""Time every analytics view on DuckDB over Parquet, and the full RentTheRunway report.

``python -m bench.analytics --data DIR [--repeat 3]``: DIR is a month-partitioned Parquet folder
(``fitroom sizing simulate --orders 10000000 --format parquet --stream --out DIR`` or
``fitroom sizing export --parquet DIR``). Each view is timed as the API runs it: a fresh DuckDB
connection over the files, the query, the small result into pandas. Like an API snapshot, the folder
gets each line's usual size first (``add_history``, timed once as ``add_history_once_s``; it rewrites
the orders in place, so point it at a copy or a snapshot). ``--rtr`` adds the full report of
the shipped RentTheRunway data (load, every table, plots, HTML). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sizing import analytics, analytics_duckdb
from sizing.analytics_duckdb import Lines
from sizing.analytics_report import compute, write_report
from sizing.datasets import load_rtr

ROOT = Path(__file__).resolve().parents[1]


def _views(folder: Path) -> dict[str, Callable[[], object]]:
    def lines() -> Lines:
        return Lines.parquet(folder)

    views: dict[str, Callable[[], object]] = {"summary": lambda: analytics_duckdb.summary(lines())}
    for by in ("item", "brand", "category", "size"):
        views[f"fit_returns_by_{by}"] = lambda by=by: analytics_duckdb.rates_by(lines(), by)  # type: ignore[misc]
    views["running"] = lambda: analytics_duckdb.items_running(lines())
    views["trend"] = lambda: analytics_duckdb.monthly_trend(lines())
    views["size_offset"] = lambda: analytics_duckdb.rates_by_size_offset(lines())
    views["size_chart_issues"] = lambda: analytics.size_chart_issues(
        analytics_duckdb.size_charts(folder), item_brands=analytics_duckdb.item_brands(lines())
    )
    return views


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _time(run: Callable[[], object], repeat: int) -> dict[str, float]:
    """Best and median wall time, and median CPU time of all threads: on a shared machine the CPU
    time says what the view costs, the wall time what it cost with everyone else running."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _cpu()
        run()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return {"best_s": round(min(walls), 3), "median_s": round(statistics.median(walls), 3),
            "cpu_s": round(statistics.median(cpus), 3)}  # fmt: skip


def _rtr_report() -> None:
    frame = load_rtr(ROOT / "data")
    with tempfile.TemporaryDirectory() as tmp:
        write_report(compute(Lines.frame(frame)), Path(tmp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="Parquet folder (orders/month=…).")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rtr", action="store_true", help="Also time the full RentTheRunway report.")
    args = parser.parse_args()
    lines = analytics_duckdb.summary(Lines.parquet(args.data))["order_lines"]
    result: dict[str, object] = {"order_lines": lines, "repeat": args.repeat, "load_average": os.getloadavg(),
                                 "views": {}}  # fmt: skip
    if not (args.data / analytics_duckdb.HISTORY_MARK).exists():  # what a snapshot does once per revision
        start = time.perf_counter()
        analytics_duckdb.add_history(args.data)
        result["add_history_once_s"] = round(time.perf_counter() - start, 3)
    for name, run in _views(args.data).items():
        result["views"][name] = _time(run, args.repeat)  # type: ignore[index]
    result["slowest_view_median_s"] = max(v["median_s"] for v in result["views"].values())  # type: ignore[attr-defined]
    if args.rtr:
        result["rtr_report"] = _time(_rtr_report, args.repeat)
    print(json.dumps(result))  # noqa: T201 (a bench script's output)


if __name__ == "__main__":
    main()
