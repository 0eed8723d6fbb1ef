"""The CSV export: one line per decision in range, streamed; no patient identifier in any column."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from cds_service.dashboard.export_postgres import copy_csv
from cds_service.dashboard.query import Filters, export_rows

COLUMNS = (
    "decided_at",
    "consult_id",
    "hook",
    "pathway",
    "rating",
    "modality",
    "regions",
    "red_flags",
    "not_checked",
    "card_shown",
    "card_outcome",
    "accepted_suggestion_kinds",
    "override_reason_system",
    "override_reason_code",
    "override_reason_display",
    "client_id",
    "tenant",
)
CHUNK_CHARACTERS = 64_000
# Cells a spreadsheet would run as a formula (CSV injection); such text gets a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_lines(engine: sa.Engine, filters: Filters) -> Iterator[str]:
    """The header, then one line per decision, read from the database in batches and sent in
    chunks of about 64 kB (on PostgreSQL, written by the database itself)."""
    if engine.dialect.name == "postgresql":
        yield from copy_csv(engine, filters, COLUMNS)
        return
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    with engine.connect() as connection:
        for row in export_rows(connection, filters):
            writer.writerow(
                [
                    _cell(row.decided_at),
                    row.consult_id,
                    row.hook,
                    row.pathway,
                    row.rating,
                    row.modality,
                    _cell(row.regions),
                    _cell(row.red_flags),
                    _cell(row.not_checked),
                    _cell(row.card_shown),
                    row.outcome,
                    row.accepted_kinds,
                    _cell(row.override_system),
                    _cell(row.override_code),
                    _cell(row.override_display),
                    _cell(row.client_id),
                    _cell(row.tenant),
                ]
            )
            if out.tell() > CHUNK_CHARACTERS:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
    yield out.getvalue()
