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


def _sqlite_pragmas(synchronous: str) -> Any:
    # WAL lets readers (reports, /readyz) run while a worker writes; busy_timeout makes concurrent
    # writers from several gunicorn workers wait for the lock instead of failing at once.
    # synchronous=FULL syncs each commit, so feedback acknowledged with 200 survives a power cut;
    # NORMAL (decisions only) syncs at checkpoints: a commit survives a crash of the process, and a
    # power cut can lose the last few, for a tenth of the cost.
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    return on_connect


def open_engine(
    database_url: str, *, connect_timeout_seconds: int = 2, sqlite_synchronous: str = "FULL"
) -> sa.Engine:
    """An engine for the URL; creates the SQLite file's directory when it is missing.

    `sqlite_synchronous` ("FULL" or "NORMAL") applies to a SQLite file only."""
    if sqlite_synchronous not in ("FULL", "NORMAL"):
        raise ValueError("sqlite_synchronous must be FULL or NORMAL")
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
    sa.event.listen(engine, "connect", _sqlite_pragmas(sqlite_synchronous))
    return engine
