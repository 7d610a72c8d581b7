"""The ``fitroom`` command line: the same verbs as the HTTP API, over the same library code."""

from __future__ import annotations

import logging
import os
import re
import shutil

import typer

from api import bootstrap
from api.commands import analytics as analytics_commands
from api.commands import avatar as avatar_commands
from api.commands import bench as bench_commands
from api.commands import keys as keys_commands
from api.commands import sizing as sizing_commands
from api.commands.purge import purge_cmd
from api.commands.sizing_export import export_cmd
from api.logs import dict_config
from api.security.local_keys import ADMIN_FILE, ensure_local_keys
from api.settings import get_settings


def readable(doc: str | None) -> str:
    """A module docstring as terminal help: its reStructuredText literals (``fitroom avatar``) would
    show verbatim, so the leading command name (already on screen) goes and the rest turn bold."""
    text = re.sub(r"^``fitroom[\w ]*``:\s*", "", (doc or "").strip())
    text = re.sub(r"``([^`]+)``", r"[bold]\1[/bold]", text)
    return text[:1].upper() + text[1:]


app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    help="Look-alike 3D avatars and size-and-fit recommendations, from the command line.\n\n"
    "The same verbs as the HTTP API, over the same library code. New here? Run [bold]fitroom setup[/bold], "
    "then [bold]fitroom serve[/bold] and open http://127.0.0.1:8000/studio (avatar studio), /dashboard "
    "(returns team) or /docs (API).",
)
for _name, _group in (
    ("avatar", avatar_commands),
    ("analytics", analytics_commands),
    ("sizing", sizing_commands),
    ("bench", bench_commands),
    ("keys", keys_commands),
):
    app.add_typer(_group.app, name=_name, help=readable(_group.__doc__))
sizing_commands.app.command("export")(export_cmd)
avatar_commands.app.command("purge")(purge_cmd)


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
    workers: int = typer.Option(1, min=1, help="uvicorn workers (production: 2 or more, on PostgreSQL)."),
) -> None:
    """Serve the API (/docs), the avatar studio (/studio), the dashboard (/dashboard) and /widget.js."""
    import uvicorn

    settings = get_settings()
    made = ensure_local_keys(settings)
    if ADMIN_FILE in made.created:
        typer.echo(
            f"created the local admin key, saved in {made.admin} (mode 0600); use it as:\n"
            f"  curl -H \"Authorization: Bearer $(cat {made.admin})\" "
            f"http://127.0.0.1:{port or settings.port}/v1/admin/keys\n"
            "  fitroom keys create --scope analytics   # for /dashboard; --scope widget --origin https://shop.example",
            err=True,
        )
    if workers > 1:  # each worker writes its metric samples here; /metrics adds them up
        metrics_dir = settings.state_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    uvicorn.run(
        "api.main:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level,
        log_config=dict_config(settings.log_level, settings.log_format),
        access_log=False,
        timeout_worker_healthcheck=60,  # a worker imports torch and the models first: seconds, not 5
    )
