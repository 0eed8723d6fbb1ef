"""The decision log's write on the hook path: one prepared INSERT through the database driver.

Every hook call with a decision writes its rows before the GP gets the answer, so this write is
on every call's CPU budget. Through SQLAlchemy Core it cost ~400 us of CPU per call (pool checkout,
transaction object, building and cache-keying a new statement, result handling); the database's
own insert and commit cost a tenth of that. So what never changes is prepared once per engine: the
INSERT ... ON CONFLICT DO NOTHING text compiled by SQLAlchemy for the engine's dialect, the
parameter order, and each column's bind processor from SQLAlchemy's own column types, so every
value is stored exactly as SQLAlchemy would store it. Per call only the driver's execute and
commit remain.

Durability is unchanged: the rows are committed before `write` returns. Connections come from the
engine's pool (so SQLite's pragmas and PostgreSQL's connect timeout apply) and are kept between
calls, one per concurrent writer, instead of being checked out and pinged each time. A connection
that fails is dropped; a kept connection that turns out to be dead (PostgreSQL restarted, idle
timeout) is replaced once at once, so a restart costs no audit row, as pool_pre_ping ensured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection

from cds_service.errors import StoreUnavailable
from cds_service.store import tables
from cds_service.store.card_outcome import OUTCOME_COLUMNS

# The unique key that makes a retried hook call's rows a no-op (see tables.py).
_CONFLICT_COLUMNS = ("consult_id", "service_id")

BindProcessor = Callable[[Any], Any]


def _bind_processor(column: sa.Column[Any], dialect: sa.Dialect) -> BindProcessor | None:
    """SQLAlchemy's own conversion of the column's values for the dialect's driver."""
    process: BindProcessor | None = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is not None and dialect.name == "sqlite" and isinstance(column.type, sa.JSON):
        return _json_text(process)
    return process


def _json_text(serialize: BindProcessor) -> BindProcessor:
    """SQLite's JSON columns: json.dumps's exact text, faster for the lists of strings logged."""

    def process(value: Any) -> Any:
        # json.dumps sets up a new encoder on every call (~1.5 us, four JSON columns a row); for a
        # list of strings its text is just each string ASCII-escaped, joined with ", ".
        if type(value) is list and all(type(item) is str for item in value):
            return "[" + ", ".join(map(encode_basestring_ascii, value)) + "]"
        return serialize(value)

    return process


class DecisionWriter:
    """Inserts decision rows with ON CONFLICT DO NOTHING and commits, on one engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        dialect = engine.dialect
        table = tables.decisions
        # The card outcome columns are written by the feedback (card_outcome.py), not here.
        columns = [c for c in table.columns if not c.primary_key and c.name not in OUTCOME_COLUMNS]
        insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        statement = (
            insert(table)
            .values({column.name: sa.bindparam(column.name, type_=column.type) for column in columns})
            .on_conflict_do_nothing(index_elements=list(_CONFLICT_COLUMNS))
            # inline: no RETURNING of the new id; nothing needs it.
            .inline()
        )
        compiled = statement.compile(dialect=dialect)
        self._sql = compiled.string
        processors = {column.name: _bind_processor(column, dialect) for column in columns}
        # Positional drivers (sqlite3: ?) take a tuple in the statement's order; named ones
        # (psycopg: %(name)s) a dict.
        self._positional = compiled.positional
        self._names = list(compiled.positiontup or []) if compiled.positional else list(processors)
        # Only the few columns whose values SQLAlchemy converts (JSON, booleans, SQLite datetimes).
        self._conversions: list[tuple[int, BindProcessor]] = [
            (index, process) for index, name in enumerate(self._names) if (process := processors[name])
        ]
        self._driver_error: type[DBAPIModule.Error] = dialect.loaded_dbapi.Error
        # Connections not in use right now; list.append/pop are atomic, so threads can share it.
        self._idle: list[PoolProxiedConnection] = []

    def write(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert and commit the rows (a repeat is skipped); StoreUnavailable when the database fails."""
        parameters = [self._parameters(row) for row in rows]
        try:
            kept: PoolProxiedConnection | None = self._idle.pop()
        except IndexError:
            kept = None
        if kept is not None:
            try:
                self._insert(kept, parameters)
            except self._driver_error as error:
                died = self._engine.dialect.is_disconnect(error, kept.dbapi_connection, None)
                self._drop(kept)
                if not died:
                    raise StoreUnavailable("The decision log could not be written.") from error
                # The kept connection died while idle: one try on a fresh one, as a pre-ping would.
            else:
                self._idle.append(kept)
                return
        fresh = self._open()
        try:
            self._insert(fresh, parameters)
        except self._driver_error as error:
            self._drop(fresh)
            raise StoreUnavailable("The decision log could not be written.") from error
        self._idle.append(fresh)

    def close(self) -> None:
        """Give the kept connections back to the engine's pool."""
        while self._idle:
            self._idle.pop().close()

    def _parameters(self, row: Mapping[str, Any]) -> Any:
        values = [row[name] for name in self._names]
        for index, process in self._conversions:
            values[index] = process(values[index])
        return tuple(values) if self._positional else dict(zip(self._names, values, strict=True))

    def _insert(self, connection: PoolProxiedConnection, parameters: list[Any]) -> None:
        driver = connection.driver_connection
        assert driver is not None  # a checked-out pool connection always has one
        cursor = driver.cursor()
        try:
            if len(parameters) == 1:
                cursor.execute(self._sql, parameters[0])
            else:
                cursor.executemany(self._sql, parameters)
        finally:
            cursor.close()
        driver.commit()

    def _open(self) -> PoolProxiedConnection:
        try:
            return self._engine.raw_connection()
        except SQLAlchemyError as error:
            raise StoreUnavailable("The decision log could not be written.") from error

    @staticmethod
    def _drop(connection: PoolProxiedConnection) -> None:
        # Closed rather than rolled back: after a failure its state is unknown, and a fresh
        # connection costs one connect per failure, not per call.
        connection.invalidate()
