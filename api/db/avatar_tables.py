"""Avatar records. Files live under the artifact folder; the row says where, so deletion finds all.

``owner_key_id`` is the key that created the avatar (None: the CLI or an admin); it defaults to the
request's key (:func:`api.security.principal.current_key_id`) so every creation path records it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base
from api.security.principal import current_key_id


class Avatar(Base):
    __tablename__ = "avatar"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(), index=True)
    backend: Mapped[str] = mapped_column(String(16))
    sex: Mapped[str] = mapped_column(String(16))
    measurements: Mapped[dict] = mapped_column(JSON)
    face: Mapped[dict | None] = mapped_column(JSON)
    photo_kept: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_key_id: Mapped[str | None] = mapped_column(String(16), default=current_key_id, index=True)
