"""``fitroom sizing simulate``: write a seeded simulated shop (orders, returns, reviews, size charts,
truth, items) that ``fitroom sizing import`` and ``fitroom sizing evaluate`` read."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.settings import get_settings
from sizing.simulate import SimConfig, simulate, stream, write

console = Console(stderr=True)
#: runs above this many order lines stream to month-partitioned Parquet unless told otherwise
STREAM_ABOVE = 1_000_000


class SimFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def simulate_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the tables to (created if missing).")],
    orders: Annotated[int, typer.Option("--orders", min=1, help="Order lines to simulate.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed writes the same shop.")] = 0,
    fmt: Annotated[SimFormat, typer.Option("--format", "-f", help="File format.")] = SimFormat.parquet,
    streamed: Annotated[
        bool | None,
        typer.Option(
            "--stream/--no-stream",
            help=f"Write month-partitioned Parquet chunk by chunk (default: above {STREAM_ABOVE:,} lines).",
        ),
    ] = None,
    chunk_orders: Annotated[int, typer.Option(min=1, help="Order lines per streamed chunk.")] = 500_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print a one-line JSON summary last.")] = False,
) -> None:
    """Simulate a shop with ground truth: bodies from ANSUR II, brands, items, shoppers, orders, outcomes."""
    use_stream = orders > STREAM_ABOVE if streamed is None else streamed
    if use_stream and fmt is not SimFormat.parquet:
        raise typer.BadParameter(
            "streamed runs write Parquet only; use --format parquet", param_hint="--format"
        )
    try:
        config = SimConfig(n_orders=orders, seed=seed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    ansur_dir = get_settings().data_dir / "ansur2"
    started = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=as_json) as progress:
        task = progress.add_task("simulating order lines", total=orders)
        if use_stream:
            paths = stream(
                config,
                out,
                ansur_dir=ansur_dir,
                chunk_orders=chunk_orders,
                on_chunk=lambda done, total: progress.update(task, completed=done, total=total),
            )
        else:
            paths = write(simulate(config, ansur_dir=ansur_dir), out, fmt.value)
            progress.update(task, completed=orders)
    seconds = time.perf_counter() - started
    if not as_json:
        console.print(f"wrote {len(paths)} files for {orders:,} order lines to {out} in {seconds:.1f} s")
    summary = {
        "orders": orders,
        "seed": seed,
        "format": fmt.value,
        "streamed": use_stream,
        "out": str(out),
        "files": len(paths),
        "seconds": round(seconds, 2),
    }
    if as_json:
        typer.echo(json.dumps(summary))
