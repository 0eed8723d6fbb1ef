"""Open the database named by SPINE_CDS_DATABASE_URL: SQLite (a WAL file) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url


def sqlite_file(url: URL) -> Path | None:
    """The database file of a file-backed SQLite URL; None for PostgreSQL or in-memory SQLite."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (reports, /readyz) run while a worker writes; busy_timeout makes concurrent
    # writers from several gunicorn workers wait for the lock instead of failing at once;
    # synchronous=FULL syncs each commit, so feedback acknowledged with 200 survives a power cut.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def open_engine(database_url: str, *, connect_timeout_seconds: int = 2) -> sa.Engine:
    """An engine for the URL; creates the SQLite file's directory when it is missing."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return sa.create_engine(
            url,
            pool_pre_ping=True,  # a node survives a PostgreSQL restart without serving dead connections
            connect_args={"connect_timeout": connect_timeout_seconds},
        )
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 5})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine
