"""Persistence: SQLAlchemy tables, sessions and Alembic migrations."""
