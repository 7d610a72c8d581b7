"""Alembic environment: runs online against the engine handed over by ``api.db.session.migrate``."""

from alembic import context

from api.db.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
