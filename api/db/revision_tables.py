"""The data revision: one row whose token changes in every import transaction (the analytics cache key)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class DataRevision(Base):
    """``revision`` counts imports; ``token`` is a fresh random id per import, so a cache keyed on it
    can never confuse two databases (or one database rebuilt) that reached the same count."""

    __tablename__ = "data_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(String(32))
