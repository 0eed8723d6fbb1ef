"""The dashboard's figures, aggregated by the database (SQLAlchemy Core GROUP BY), never row by row.

A card's outcome is its latest feedback (as in `spine-cds report`); a card without feedback is
"no feedback". What an accepted card changed is read from the decision's `suggestion_kinds`
({suggestion uuid: kind}) at the uuids the client reported as accepted. No query reads a
patient identifier.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from cds_service.store import tables

d, f = tables.decisions, tables.feedback

# A card offers at most this many suggestions (cds_service/cards/suggestions.py; a test checks it),
# so the accepted kinds of a card are read from the first two accepted uuids.
MAX_SUGGESTIONS = 2
WATCHED_PATHWAYS = ("emergency-department", "urgent-mri-suspected-cancer")
WATCH_LIST_LIMIT = 500
NO_FEEDBACK = "no feedback"


@dataclass(frozen=True)
class Client:
    """Who called: the client JWT's issuer and tenant (both None when authentication is off)."""

    client_id: str | None
    tenant: str | None

    @property
    def key(self) -> str:
        """The value of the page's client filter."""
        return f"{self.client_id or ''}|{self.tenant or ''}"

    @property
    def label(self) -> str:
        """How the filter names it."""
        name = self.client_id or "(calls without a client token)"
        return f"{name} - tenant {self.tenant}" if self.tenant else name

    @classmethod
    def from_key(cls, key: str) -> Client:
        """The client named by a filter value."""
        client_id, _, tenant = key.rpartition("|")
        return cls(client_id or None, tenant or None)


@dataclass(frozen=True)
class Filters:
    """The page's date range (whole days, UTC, both ends included) and optional client."""

    first_day: date
    last_day: date
    client: Client | None = None

    @property
    def start(self) -> datetime:
        """The first moment in range."""
        return datetime.combine(self.first_day, time.min)

    @property
    def end(self) -> datetime:
        """The first moment after the range."""
        return datetime.combine(self.last_day + timedelta(days=1), time.min)

    def where(self) -> list[sa.ColumnElement[bool]]:
        """The WHERE conditions on `decisions`."""
        conditions = [d.c.decided_at >= self.start, d.c.decided_at < self.end]
        if self.client is not None:
            conditions.append(_equal_or_null(d.c.client_id, self.client.client_id))
            conditions.append(_equal_or_null(d.c.tenant, self.client.tenant))
        return conditions


def _equal_or_null(column: sa.Column[Any], value: str | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def week_start(dialect: str) -> sa.ColumnElement[Any]:
    """The Monday (UTC) of each decision's week."""
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc("week", sa.func.timezone("UTC", d.c.decided_at)), sa.Date)
    return sa.func.date(d.c.decided_at, "weekday 0", "-6 days")


def latest_feedback() -> sa.Subquery:
    """Each card's latest feedback item (no later item exists for the same card)."""
    later = f.alias("later")
    newer_exists = (
        sa.select(sa.literal(1))
        .where(
            later.c.card_uuid == f.c.card_uuid,
            sa.or_(
                later.c.outcome_at > f.c.outcome_at,
                sa.and_(later.c.outcome_at == f.c.outcome_at, later.c.id > f.c.id),
            ),
        )
        .exists()
    )
    return (
        sa.select(
            f.c.card_uuid,
            f.c.outcome,
            f.c.accepted_suggestions,
            f.c.override_system,
            f.c.override_code,
            f.c.override_display,
            f.c.has_comment,
        )
        .where(~newer_exists)
        .subquery("latest")
    )


def _json_text_at(column: Any, index: int, dialect: str) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return column.op("->>")(sa.literal(index))
    return sa.func.json_extract(column, f"$[{index}]")


def _json_value_of(column: Any, key: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return column.op("->>")(key)
    return sa.func.json_extract(column, sa.literal('$."') + key + sa.literal('"'))


def accepted_kinds(latest: sa.Subquery, dialect: str) -> list[sa.ColumnElement[Any]]:
    """The kinds ("cancel-order", ...) of a card's accepted suggestions, one column per position."""
    return [
        sa.case(
            (
                latest.c.outcome == "accepted",
                _json_value_of(
                    d.c.suggestion_kinds, _json_text_at(latest.c.accepted_suggestions, i, dialect), dialect
                ),
            ),
            else_=None,
        ).label(f"kind{i}")
        for i in range(MAX_SUGGESTIONS)
    ]


def weekly_counts(connection: sa.Connection, filters: Filters) -> list[Any]:
    """(week, modality, pathway, client_id, tenant, decisions) for the range, every client."""
    week = week_start(connection.dialect.name).label("week")
    query = (
        sa.select(week, d.c.modality, d.c.pathway, d.c.client_id, d.c.tenant, sa.func.count().label("n"))
        .where(d.c.decided_at >= filters.start, d.c.decided_at < filters.end)
        .group_by(week, d.c.modality, d.c.pathway, d.c.client_id, d.c.tenant)
    )
    return list(connection.execute(query))


def outcome_counts(connection: sa.Connection, filters: Filters) -> list[Any]:
    """Cards by pathway, modality, shown, latest outcome, override reason and accepted kinds."""
    dialect = connection.dialect.name
    latest = latest_feedback()
    outcome = sa.func.coalesce(latest.c.outcome, NO_FEEDBACK).label("outcome")
    kinds = accepted_kinds(latest, dialect)
    groups = [
        d.c.pathway,
        d.c.modality,
        d.c.card_shown,
        outcome,
        latest.c.override_system,
        latest.c.override_code,
        latest.c.override_display,
        *kinds,
    ]
    query = (
        sa.select(*groups, sa.func.count().label("n"))
        .select_from(d.outerjoin(latest, latest.c.card_uuid == d.c.card_uuid))
        .where(*filters.where())
        .group_by(*groups)
    )
    return list(connection.execute(query))


def red_flag_counts(connection: sa.Connection, filters: Filters) -> list[Any]:
    """(red flags as JSON text, decisions): each distinct set of flags found, counted."""
    flags = sa.cast(d.c.red_flags, sa.Text).label("flags")
    query = sa.select(flags, sa.func.count().label("n")).where(*filters.where()).group_by(flags)
    return list(connection.execute(query))


def watch_list(connection: sa.Connection, filters: Filters) -> list[Any]:
    """Emergency and suspected-cancer cards overridden (dismissed), newest first, capped."""
    latest = latest_feedback()
    query = (
        sa.select(
            d.c.decided_at,
            d.c.pathway,
            d.c.modality,
            d.c.red_flags,
            d.c.consult_id,
            latest.c.override_code,
            latest.c.override_display,
            latest.c.has_comment,
        )
        .select_from(d.join(latest, latest.c.card_uuid == d.c.card_uuid))
        .where(*filters.where(), d.c.pathway.in_(WATCHED_PATHWAYS), latest.c.outcome == "overridden")
        .order_by(d.c.decided_at.desc(), d.c.id.desc())
        .limit(WATCH_LIST_LIMIT + 1)
    )
    return list(connection.execute(query))


def export_rows(connection: sa.Connection, filters: Filters) -> Iterator[Any]:
    """Every decision in range with its card's latest outcome, oldest first, streamed."""
    dialect = connection.dialect.name
    latest = latest_feedback()
    query = (
        sa.select(
            d.c.decided_at,
            d.c.consult_id,
            d.c.hook,
            d.c.pathway,
            d.c.rating,
            d.c.modality,
            d.c.regions,
            d.c.red_flags,
            d.c.not_checked,
            d.c.card_shown,
            sa.func.coalesce(latest.c.outcome, NO_FEEDBACK).label("outcome"),
            *accepted_kinds(latest, dialect),
            latest.c.override_system,
            latest.c.override_code,
            latest.c.override_display,
            d.c.client_id,
            d.c.tenant,
        )
        .select_from(d.outerjoin(latest, latest.c.card_uuid == d.c.card_uuid))
        .where(*filters.where())
        .order_by(d.c.decided_at, d.c.id)
    )
    result = connection.execution_options(stream_results=True, yield_per=2000).execute(query)
    yield from result
