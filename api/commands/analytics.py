"""``fitroom analytics``: the returns team's fit-return report, from the database or a shipped dataset."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.db.session import session_scope
from api.settings import get_settings
from api.store import load_size_charts, load_transactions
from sizing.analytics_report import compute, write_report
from sizing.datasets import load_rtr

app = typer.Typer(no_args_is_help=True, help=__doc__)
console = Console(stderr=True)


class From(StrEnum):
    db = "db"
    rtr = "rtr"


@app.command("report")
def report_cmd(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the CSV/Parquet tables, PNG plots and report.html.")
    ],
    source: Annotated[
        From, typer.Option("--from", help="db: the configured database; rtr: the shipped data.")
    ] = From.db,
    min_orders: Annotated[int, typer.Option(min=1, help="Smallest group shown in plots and flagged.")] = 20,
) -> None:
    """Write fit-return rates by item/brand/category/size, items running small/large, size-chart issues
    and the monthly trend as tables, plots and one self-contained HTML page."""
    settings = get_settings()
    with console.status("loading transactions …"):
        if source is From.rtr:
            frame, charts = load_rtr(settings.data_dir), None
        else:
            with session_scope(settings.sqlalchemy_url) as session:
                frame, charts = load_transactions(session), load_size_charts(session)
    if frame.empty:
        console.print("[red]no order lines[/red]: import some first with `fitroom sizing import`")
        raise typer.Exit(2)
    with console.status(f"computing analytics over {len(frame):,} order lines …"):
        tables = compute(frame, charts, min_orders=min_orders)
    with console.status("writing tables, plots and report.html …"):
        written = write_report(tables, out, min_orders=min_orders)
    s = tables.summary
    table = Table(title=f"fit-return report ({s['basis']} basis)")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key in ("order_lines", "shoppers", "items", "fit_return_rate", "small_rate", "large_rate"):
        value = s[key]
        table.add_row(key, f"{value:.1%}" if isinstance(value, float) else f"{value:,}")
    table.add_row(
        "items running small / large", f"{len(tables.running_small):,} / {len(tables.running_large):,}"
    )
    table.add_row("size-chart issues", f"{len(tables.size_chart_issues):,}")
    console.print(table)
    typer.echo(f"wrote {len(written)} files to {out}; open {written['report.html']}")
