"""Typed FastAPI dependencies: settings and one database session per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from api.db.session import session_scope
from api.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """Commit when the route returns, roll back if it raises: a failed request stores nothing."""
    with session_scope(settings.sqlalchemy_url) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
