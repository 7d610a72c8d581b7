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


def _anny_body_cache(_: Settings) -> None:
    from avatar.body.models.anny_backend import ensure_body_cache

    ensure_body_cache()


def _completion_model(settings: Settings) -> None:
    from avatar.completion import load_default

    load_default(settings.models_dir, settings.data_dir)  # trains on ANSUR II train + NHANES if missing


def _size_model(settings: Settings) -> None:
    from api.commands.sizing import ensure_default_model

    ensure_default_model(settings)  # trains on all RentTheRunway data if the artifact is missing


def _rtr_data(settings: Settings) -> None:
    from api.commands.sizing_import import ensure_rtr_in_database

    ensure_rtr_in_database(settings)


STEPS: list[tuple[str, Callable[[Settings], None]]] = [
    ("database schema", _database),
    ("RentTheRunway data in the database", _rtr_data),
    ("Anny body model (first time: about 150 s, 1.5 GB) and girth loops", _anny_body_cache),
    ("measurement completion model", _completion_model),
    ("default size model", _size_model),
]


def run(settings: Settings) -> None:
    """Run every step in order; each step is idempotent and returns quickly when already done."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    for name, step in STEPS:
        console.print(f"[bold]setup[/bold] {name} …")
        step(settings)
    console.print("[green]setup complete[/green]")
