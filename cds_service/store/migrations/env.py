"""Alembic environment: migrations run on the connection the store hands over (see migrate.py).

Run by hand (`alembic -c cds_service/store/alembic.ini revision --autogenerate -m ...` to write
the next migration), it connects to SPINE_CDS_DATABASE_URL instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from cds_service.settings import Settings
from cds_service.store.engine import open_engine
from cds_service.store.tables import metadata


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if "connection" in context.config.attributes:
    _run(context.config.attributes["connection"])
else:
    engine = open_engine(Settings().database_url)
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()
