"""``fitroom avatar purge``: remove avatars older than ``FITROOM_AVATAR_RETENTION_DAYS`` completely."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from api.db.session import session_scope
from api.privacy import purge_expired
from api.settings import get_settings


def purge_cmd(
    days: Annotated[
        int | None, typer.Option(min=1, help="Retention in days (default FITROOM_AVATAR_RETENTION_DAYS).")
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="Pretend it is this UTC time (default: the database's now)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a one-line JSON summary last.")] = False,
) -> None:
    """Delete every avatar created more than the retention period ago: files, rows, and left-over
    partial folders of interrupted creations. Run it daily (cron, systemd timer)."""
    settings = get_settings()
    retention = days or settings.avatar_retention_days
    if retention is None:
        typer.echo("no retention set: pass --days or set FITROOM_AVATAR_RETENTION_DAYS", err=True)
        raise typer.Exit(2)
    with session_scope(settings.sqlalchemy_url) as session:
        result = purge_expired(session, settings, retention, now=as_of)
    summary = {
        "purged": len(result.avatars),
        "partials_removed": result.partials,
        "cutoff": str(result.cutoff),
    }
    typer.echo(
        json.dumps(summary)
        if as_json
        else f"purged {len(result.avatars)} avatars created before {result.cutoff}"
    )
