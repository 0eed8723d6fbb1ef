"""The CSV export: one line per decision in range, streamed; no patient identifier in any column."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

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
# Cells a spreadsheet would run as a formula (CSV injection); such text gets a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return out.getvalue()


def csv_lines(engine: sa.Engine, filters: Filters) -> Iterator[str]:
    """The header, then one line per decision, read from the database in batches."""
    yield _line(list(COLUMNS))
    with engine.connect() as connection:
        for row in export_rows(connection, filters):
            yield _line(
                [
                    row.decided_at,
                    row.consult_id,
                    row.hook,
                    row.pathway,
                    row.rating,
                    row.modality,
                    row.regions,
                    row.red_flags,
                    row.not_checked,
                    row.card_shown,
                    row.outcome,
                    row.accepted_kinds,
                    row.override_system,
                    row.override_code,
                    row.override_display,
                    row.client_id,
                    row.tenant,
                ]
            )
