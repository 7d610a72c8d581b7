"""The keys a local install needs, made once and kept under ``state_dir/keys`` (mode 0600): an admin
key for the operator, and a widget key for the demo pages on localhost."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from api.db.session import session_scope
from api.security.keys import create_key, resolve
from api.security.principal import Scope
from api.settings import Settings

ADMIN_FILE = "admin.key"
WIDGET_FILE = "demo-widget.key"


@dataclass(frozen=True)
class LocalKeys:
    admin: Path
    widget: Path
    created: list[str]


def _ensure(settings: Settings, name: str, scope: Scope, origins: list[str]) -> bool:
    """Create the key unless the file holds one the database still accepts; True when created."""
    path = settings.keys_dir / name
    with session_scope(settings.sqlalchemy_url) as session:
        if path.is_file() and resolve(session, path.read_text().strip()) is not None:
            return False
        issued = create_key(session, scope, name=f"local {scope.value}", origins=origins)
    settings.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(issued.key + "\n")
    partial.replace(path)
    return True


def ensure_local_keys(settings: Settings) -> LocalKeys:
    local = [f"http://{host}:{settings.port}" for host in ("127.0.0.1", "localhost")]
    created = [
        name
        for name, scope, origins in ((ADMIN_FILE, Scope.ADMIN, []), (WIDGET_FILE, Scope.WIDGET, local))
        if _ensure(settings, name, scope, origins)
    ]
    return LocalKeys(settings.keys_dir / ADMIN_FILE, settings.keys_dir / WIDGET_FILE, created)


def demo_widget_key(settings: Settings) -> str | None:
    path = settings.keys_dir / WIDGET_FILE
    return path.read_text().strip() if path.is_file() else None
