"""`fitroom setup`: everything the service needs beyond installed packages, each step done only once."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rich.console import Console

from api.db.session import migrate
from api.settings import Settings

log = logging.getLogger(__name__)
console = Console(stderr=True)


def _database(settings: Settings) -> None:
    migrate(settings.sqlalchemy_url)


def _anny_cache(_: Settings) -> None:
    from avatar.paths import ensure_anny_cache

    ensure_anny_cache()


STEPS: list[tuple[str, Callable[[Settings], None]]] = [
    ("database schema", _database),
    ("Anny body model cache", _anny_cache),
]


def run(settings: Settings) -> None:
    """Run every step in order; each step is idempotent and returns quickly when already done."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    for name, step in STEPS:
        console.print(f"[bold]setup[/bold] {name} …")
        step(settings)
    console.print("[green]setup complete[/green]")
