"""Bring the schema to the newest Alembic revision (`alembic upgrade head`), safely from many nodes.

PostgreSQL: the upgrade runs inside one transaction holding an advisory lock, so when two nodes
start at once the second waits, then finds the schema at head and does nothing. SQLite: several
gunicorn workers on one file serialise on an exclusive lock file next to the database.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cds_service.store.engine import sqlite_file

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any fixed 64-bit number: it names this service's migration lock among the cluster's advisory locks.
ADVISORY_LOCK_ID = 0x5350494E45434453  # "SPINECDS"


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision shipped with the package."""
    script = ScriptDirectory(str(MIGRATIONS))
    return script.get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at (None when it has never been migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _upgrade(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Released at commit, together with the DDL (PostgreSQL DDL is transactional).
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
        command.upgrade(_config(connection), "head")


def upgrade_to_head(engine: sa.Engine) -> None:
    """Run every migration the database has not had yet."""
    path = sqlite_file(engine.url)
    if path is None:
        _upgrade(engine)
        return
    lock_path = path.with_name(path.name + ".migrate.lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _upgrade(engine)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
