"""Each card's latest feedback, copied onto its decision row as the feedback is stored.

The dashboard counts outcomes over a year of decisions; joining every decision to the feedback log
to find each card's latest item, and reading JSON on each row, cost seconds at a million decisions.
Feedback is rare next to hook calls and off the GP's path, so that work is done once per item here:
the decision row takes the item's outcome unless it already holds a later one (the same order as
`spine-cds report`: latest outcome time, then the item stored last), and `accepted_kinds` names what
the accepted suggestions do ("cancel-order", "switch-to-xray", ...), looked up in the decision's
own `suggestion_kinds` by the database. The dashboard's summary of the decision's day, if made, is
dropped (it is made again from the rows on the next page view).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from cds_service.store import tables

d = tables.decisions

# decision column -> feedback row key
COPIED = {
    "outcome": "outcome",
    "outcome_at": "outcome_at",
    "override_system": "override_system",
    "override_code": "override_code",
    "override_display": "override_display",
    "override_has_comment": "has_comment",
}
# Written by the feedback, never by the decision writer.
OUTCOME_COLUMNS = (*COPIED, "accepted_kinds")


def _kind_of(uuid: sa.BindParameter[str], dialect: str) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.func.coalesce(d.c.suggestion_kinds.op("->>")(uuid), "")
    return sa.func.coalesce(
        sa.func.json_extract(d.c.suggestion_kinds, sa.literal('$."') + uuid + sa.literal('"')), ""
    )


@cache
def outcome_update(dialect: str, accepted: int) -> sa.Update:
    """The UPDATE for a feedback item with `accepted` accepted suggestions, on the dialect."""
    values: dict[str, Any] = {
        column: sa.bindparam(f"b_{column}", type_=d.c[column].type) for column in COPIED
    }
    kinds: sa.ColumnElement[Any] | None = None
    for i in range(accepted):
        kind = _kind_of(sa.bindparam(f"b_accepted_{i}", type_=sa.String()), dialect)
        kinds = kind if kinds is None else kinds + " " + kind
    values["accepted_kinds"] = sa.func.nullif(sa.func.trim(kinds), "") if kinds is not None else sa.null()
    return (
        d.update()
        .where(
            d.c.card_uuid == sa.bindparam("b_card_uuid"),
            sa.or_(d.c.outcome_at.is_(None), d.c.outcome_at <= sa.bindparam("b_outcome_at")),
        )
        .values(values)
        .returning(d.c.decided_at)
    )


def copy_outcome(connection: sa.Connection, feedback_row: dict[str, Any]) -> None:
    """Copy one newly stored feedback row onto its card's decision (if the decision is logged)."""
    accepted = list(feedback_row["accepted_suggestions"]) if feedback_row["outcome"] == "accepted" else []
    parameters = {
        "b_card_uuid": feedback_row["card_uuid"],
        **{f"b_{column}": feedback_row[key] for column, key in COPIED.items()},
        **{f"b_accepted_{i}": uuid for i, uuid in enumerate(accepted)},
    }
    changed = connection.execute(outcome_update(connection.dialect.name, len(accepted)), parameters).all()
    # The dashboard's summary of that day no longer holds; the next page view makes it again.
    days = {_utc_day(row.decided_at) for row in changed}
    if days:
        connection.execute(tables.dashboard_days.delete().where(tables.dashboard_days.c.day.in_(days)))


def _utc_day(moment: datetime) -> date:
    # SQLite gives back the UTC wall-clock time without a zone; PostgreSQL an aware time.
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()
