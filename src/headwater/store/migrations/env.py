"""Alembic environment: migrations run against the engine handed over in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from headwater.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
