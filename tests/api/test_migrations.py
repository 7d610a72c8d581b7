"""The Alembic chain builds exactly the schema the SQLAlchemy tables declare, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api.db.models import Base
from api.db.session import get_engine
from api.settings import Settings


def test_migrations_match_the_models(database_url: str) -> None:
    engine = get_engine(Settings(database_url=database_url).sqlalchemy_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
