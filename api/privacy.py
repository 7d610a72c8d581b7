"""Avatar retention: everything of an avatar past its retention period goes (files, row); so do the
staging folders an interrupted creation left behind."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.avatar_service import delete_stored_avatar
from api.db.avatar_tables import Avatar
from api.settings import Settings

PARTIAL_AGE_S = 3600  # a creation takes seconds; a staging folder this old was abandoned


@dataclass(frozen=True)
class Purged:
    cutoff: datetime
    avatars: list[str]
    partials: int


def purge_expired(session: Session, settings: Settings, days: int, *, now: datetime | None = None) -> Purged:
    """Delete avatars created before ``now - days``. ``now`` defaults to the database's clock (the
    one ``created_at`` was stamped with), so the cutoff is right whatever the host's time zone."""
    now = now or session.scalar(select(func.now()))
    assert now is not None
    cutoff = now.replace(tzinfo=None) - timedelta(days=days)
    expired = list(session.scalars(select(Avatar).where(Avatar.created_at < cutoff)))
    for row in expired:
        delete_stored_avatar(session, settings, row)
    partials = 0
    folder = settings.artifact_dir / "avatars"
    for staging in folder.glob(".*.partial") if folder.is_dir() else []:
        if time.time() - staging.stat().st_mtime > PARTIAL_AGE_S:
            shutil.rmtree(staging, ignore_errors=True)
            partials += 1
    return Purged(cutoff, [row.id for row in expired], partials)
