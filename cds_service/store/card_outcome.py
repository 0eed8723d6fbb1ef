"""Each card's latest feedback, copied onto its decision row as the feedback is stored.

The dashboard counts outcomes over a year of decisions; joining every decision to the feedback log
to find each card's latest item cost seconds at a million decisions. Feedback is rare next to hook
calls and off the GP's path, so the join is done once per item here instead: the decision row
takes the item's outcome unless it already holds a later one (the same order as `spine-cds
report`: latest outcome time, then the item stored last).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from cds_service.store import tables

d = tables.decisions

# decision column -> feedback row key
COPIED = {
    "outcome": "outcome",
    "outcome_at": "outcome_at",
    "accepted_suggestions": "accepted_suggestions",
    "override_system": "override_system",
    "override_code": "override_code",
    "override_display": "override_display",
    "override_has_comment": "has_comment",
}

OUTCOME_UPDATE = (
    d.update()
    .where(
        d.c.card_uuid == sa.bindparam("b_card_uuid"),
        sa.or_(d.c.outcome_at.is_(None), d.c.outcome_at <= sa.bindparam("b_outcome_at")),
    )
    .values({column: sa.bindparam(f"b_{column}", type_=d.c[column].type) for column in COPIED})
)


def outcome_parameters(feedback_row: dict[str, Any]) -> dict[str, Any]:
    """The UPDATE's parameters for one stored feedback row."""
    return {
        "b_card_uuid": feedback_row["card_uuid"],
        **{f"b_{column}": feedback_row[key] for column, key in COPIED.items()},
    }
