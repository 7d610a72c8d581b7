"""``fitroom sizing import``: validate a file, then write all of it to the database or nothing."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pyarrow.parquet as pq
import typer
from rich.console import Console

from api import analytics_views
from api.db.session import session_scope
from api.settings import Settings, get_settings
from api.store import ImportRejected, analytics_snapshot, count_order_lines, import_result
from sizing.datasets import RTR_FILE
from sizing.ingest import ValidationReport, read_source

console = Console(stderr=True)
EXIT_REJECTED = 2


class FormatOpt(StrEnum):
    rtr = "rtr"
    modcloth = "modcloth"
    csv = "csv"
    parquet = "parquet"


class KindOpt(StrEnum):
    orders = "orders"
    returns = "returns"
    reviews = "reviews"
    size_charts = "size_charts"


def import_cmd(
    path: Annotated[
        Path, typer.Argument(help="File to import (RTR: the Parquet, its folder, or JSON lines).")
    ],
    fmt: Annotated[FormatOpt, typer.Option("--format", "-f", help="Source format.")],
    kind: Annotated[
        KindOpt, typer.Option("--kind", "-k", help="What a csv/parquet file holds.")
    ] = KindOpt.orders,
    source: Annotated[
        str, typer.Option(help="Source label stored with csv/parquet orders (≤ 32 chars).")
    ] = "generic",
    drop_implausible: Annotated[
        bool, typer.Option("--drop-implausible", help="Set out-of-range body values to missing, not reject.")
    ] = False,
    report_csv: Annotated[
        Path | None, typer.Option(help="Also write every problem found to this CSV.")
    ] = None,
) -> None:
    """Import orders, returns, reviews or size charts. A file with any error writes nothing (exit code 2)."""
    if len(source) > 32:
        raise typer.BadParameter(f"--source is {len(source)} characters; at most 32", param_hint="--source")
    try:
        result = read_source(
            fmt.value, path, kind=kind.value, source=source, implausible="drop" if drop_implausible else None
        )
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_REJECTED) from exc
    if report_csv is not None:
        result.report.to_frame().to_csv(report_csv, index=False)
    if not result.report.ok:
        _rejected(result.report)
    settings = get_settings()
    try:
        summary = import_result(settings.sqlalchemy_url, result, progress=True)
    except ImportRejected as exc:
        _rejected(exc.report)
    if result.report.warnings:
        console.print(result.report.table(limit=20))
    rows = ", ".join(f"{table} {n}" for table, n in summary.tables.items())
    typer.echo(f"imported {summary.rows} {result.kind} rows from {path} in {summary.seconds:.1f} s ({rows})")
    prepare_analytics(settings)


def prepare_analytics(settings: Settings) -> None:
    """Export the new data revision's analytics snapshot now (Parquet, usual sizes, DuckDB file) and
    its default dashboard views, so the dashboard's first visit after an import waits for neither
    (seconds on the full RTR data)."""
    started = time.perf_counter()
    with session_scope(settings.sqlalchemy_url) as session:
        folder = analytics_snapshot(session, settings.state_dir / "analytics")
    count = analytics_views.precompute(folder)
    console.print(
        f"analytics snapshot {folder.name} and {count} dashboard views ready in "
        f"{time.perf_counter() - started:.1f} s"
    )


def _rejected(report: ValidationReport) -> None:
    console.print(report.table())
    console.print("[red]nothing was written[/red]: fix the rows above and import the file again")
    raise typer.Exit(EXIT_REJECTED)


def ensure_rtr_in_database(settings: Settings) -> None:
    """Set-up step: import the shipped RentTheRunway Parquet unless the database already holds all of it,
    so ``make serve`` can recommend by ``shopper_id`` out of the box."""
    parquet = settings.data_dir / RTR_FILE
    if not parquet.is_file():
        console.print(f"[yellow]skipped[/yellow]: {parquet} not found")
        return
    expected = pq.ParquetFile(parquet).metadata.num_rows
    with session_scope(settings.sqlalchemy_url) as session:
        present = count_order_lines(session, source="rtr")
    if present >= expected:
        console.print(f"already there ({present:,} RentTheRunway order lines)")
        prepare_analytics(settings)
        return
    result = read_source("rtr", parquet)
    summary = import_result(settings.sqlalchemy_url, result, progress=True)
    console.print(f"imported {summary.rows:,} RentTheRunway order lines in {summary.seconds:.0f} s")
    prepare_analytics(settings)
