"""Declarative base shared by every table module, so Alembic sees one metadata."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Root of all fitroom tables."""
