"""The CSV export on PostgreSQL: the database writes the CSV itself (COPY ... TO STDOUT).

Formatting a million rows in Python costs minutes; COPY streams the same columns, formatted by the
same rules as export.py (lists space-separated, yes/no, formula-like text prefixed with an
apostrophe), at the database's speed. The statement is compiled by SQLAlchemy and its parameters
are bound by psycopg, so nothing from the request is spliced into SQL text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from cds_service.dashboard.query import NO_FEEDBACK, Filters
from cds_service.store import tables

d = tables.decisions
# The same characters as export._FORMULA_START, as a regular expression.
FORMULA_START = "^[-=+@\t\r]"


def _words(column: sa.Column[Any]) -> sa.ColumnElement[str]:
    # Correlated to the row being exported: without correlate() SQLAlchemy gives the subquery its own
    # FROM decisions, so every line would carry every decision's list (and a year's export of a
    # million rows would build a million-element array per row).
    elements = sa.select(sa.func.json_array_elements_text(column)).correlate(d).scalar_subquery()
    return sa.func.array_to_string(sa.func.array(elements), " ")


def _safe(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    return sa.case((column.op("~")(FORMULA_START), sa.literal("'") + column), else_=column)


def export_statement(filters: Filters, columns: tuple[str, ...]) -> sa.Select[Any]:
    """The SELECT whose rows are the CSV's lines, labelled with the CSV's column names."""
    values = [
        sa.func.to_char(sa.func.timezone("UTC", d.c.decided_at), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
        d.c.consult_id,
        d.c.hook,
        d.c.pathway,
        d.c.rating,
        d.c.modality,
        _words(d.c.regions),
        _words(d.c.red_flags),
        _words(d.c.not_checked),
        sa.case((d.c.card_shown, "yes"), else_="no"),
        sa.func.coalesce(d.c.outcome, NO_FEEDBACK),
        d.c.accepted_kinds,
        _safe(d.c.override_system),
        _safe(d.c.override_code),
        _safe(d.c.override_display),
        _safe(d.c.client_id),
        _safe(d.c.tenant),
    ]
    labelled = [value.label(name) for value, name in zip(values, columns, strict=True)]
    return sa.select(*labelled).where(*filters.where()).order_by(d.c.decided_at, d.c.id)


def copy_csv(engine: sa.Engine, filters: Filters, columns: tuple[str, ...]) -> Iterator[str]:
    """The CSV (header first) as PostgreSQL's COPY sends it, chunk by chunk."""
    compiled = export_statement(filters, columns).compile(dialect=engine.dialect)
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        with (
            driver.cursor() as cursor,
            cursor.copy(
                f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv, HEADER)", compiled.params
            ) as copy,
        ):
            for chunk in copy:
                yield bytes(chunk).decode("utf-8")
        driver.rollback()  # read only
    finally:
        raw.close()
