"""The ``fitroom`` command line: the same verbs as the HTTP API, over the same library code."""

from __future__ import annotations

import logging

import typer

from api import bootstrap
from api.commands import analytics as analytics_commands
from api.commands import avatar as avatar_commands
from api.commands import bench as bench_commands
from api.commands import sizing as sizing_commands
from api.settings import get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(avatar_commands.app, name="avatar")
app.add_typer(analytics_commands.app, name="analytics")
app.add_typer(sizing_commands.app, name="sizing")
app.add_typer(bench_commands.app, name="bench")


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level.")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(message)s")


@app.command()
def setup() -> None:
    """Build caches, migrate the database and train default models that are missing (idempotent)."""
    bootstrap.run(get_settings())


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default FITROOM_HOST)."),
    port: int | None = typer.Option(None, help="Port (default FITROOM_PORT)."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes."),
) -> None:
    """Run the HTTP service (OpenAPI docs at /docs)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "api.main:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level,
    )
