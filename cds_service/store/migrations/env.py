"""Alembic environment: migrations run on the connection the store hands over (see migrate.py)."""

from __future__ import annotations

from alembic import context

from cds_service.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
