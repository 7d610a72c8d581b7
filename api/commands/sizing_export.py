"""``fitroom sizing export``: the database's canonical tables as month-partitioned Parquet, streamed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.db.session import session_scope
from api.settings import get_settings
from api.store import export_parquet


def export_cmd(
    parquet: Annotated[Path, typer.Option("--parquet", help="Folder to write (orders/month=YYYY-MM/…).")],
    chunk_rows: Annotated[int, typer.Option(min=1, help="Order lines read and written per chunk.")] = 100_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print a one-line JSON summary last.")] = False,
) -> None:
    """Write orders (with their outcomes) partitioned by month, and the size charts, from SQLite or
    PostgreSQL; rows are read in chunks, never a whole table at once."""
    if parquet.exists() and any(parquet.iterdir()):
        typer.echo(f"--parquet {parquet}: the folder is not empty; choose a new one", err=True)
        raise typer.Exit(2)
    with session_scope(get_settings().sqlalchemy_url) as session:
        paths = export_parquet(session, parquet, chunk_rows=chunk_rows)
    months = sorted({p.parent.name for p in paths if p.parent.name.startswith("month=")})
    summary = {"out": str(parquet), "files": len(paths), "months": len(months)}
    text = f"wrote {len(paths)} files over {len(months)} months to {parquet}"
    typer.echo(json.dumps(summary) if as_json else text)
