"""The dashboard's figures, aggregated by the database (SQLAlchemy Core GROUP BY), never row by row.

Every figure comes from the `decisions` table, or from its per-day summaries for settled days
(summaries.py): a card's latest feedback is copied onto its decision when stored
(cds_service/store/card_outcome.py), so no query joins the feedback log. A card
without feedback is "no feedback". What an accepted card changed is its `accepted_kinds`. No
query reads a patient identifier.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from cds_service.store import tables

d = tables.decisions

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

    def from_day(self, day: date) -> Filters | None:
        """The part of the range from `day` on (None when the range ends before it)."""
        if day > self.last_day:
            return None
        return replace(self, first_day=max(self.first_day, day))

    def where(self) -> list[sa.ColumnElement[bool]]:
        """The WHERE conditions on `decisions`."""
        conditions = [d.c.decided_at >= self.start, d.c.decided_at < self.end]
        if self.client is not None:
            conditions.append(_equal_or_null(d.c.client_id, self.client.client_id))
            conditions.append(_equal_or_null(d.c.tenant, self.client.tenant))
        return conditions


def _equal_or_null(column: sa.Column[Any], value: str | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def tune_for_aggregates(connection: sa.Connection) -> None:
    """PostgreSQL, for this transaction only: room to group in memory (the default 4 MB makes the
    year's GROUP BYs sort on disk) and no JIT compilation (it costs more than it saves here)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        connection.exec_driver_sql("SET LOCAL jit = off")


def day_of(dialect: str) -> sa.ColumnElement[Any]:
    """The (UTC) day of each decision: the weekly chart groups days, Python folds them into weeks."""
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone("UTC", d.c.decided_at), sa.Date)
    return sa.func.substr(d.c.decided_at, 1, 10)  # SQLite keeps UTC times as ISO text


def outcome_groups() -> list[sa.ColumnElement[Any]]:
    """What the outcome figures group decisions by (also the columns of `dashboard_daily`)."""
    return [
        d.c.pathway,
        d.c.modality,
        d.c.card_shown,
        sa.func.coalesce(d.c.outcome, NO_FEEDBACK).label("outcome"),
        d.c.override_code,
        d.c.override_display,
        d.c.accepted_kinds,
    ]


def _summary_where(table: sa.Table, filters: Filters, until: date) -> list[sa.ColumnElement[bool]]:
    conditions = [table.c.day >= filters.first_day, table.c.day <= until]
    if filters.client is not None:
        conditions.append(_equal_or_null(table.c.client_id, filters.client.client_id))
        conditions.append(_equal_or_null(table.c.tenant, filters.client.tenant))
    return conditions


def daily_counts(connection: sa.Connection, filters: Filters, live_from: date) -> list[Any]:
    """(day, modality, pathway, client_id, tenant, decisions) for the range, every client: the
    summarised days before `live_from`, the days since counted from `decisions`."""
    s = tables.dashboard_daily
    day = day_of(connection.dialect.name).label("day")
    return _summarised_then_live(
        connection,
        replace(filters, client=None),
        live_from,
        summary_groups=[s.c.day, s.c.modality, s.c.pathway, s.c.client_id, s.c.tenant],
        live_groups=[day, d.c.modality, d.c.pathway, d.c.client_id, d.c.tenant],
    )


def outcome_counts(connection: sa.Connection, filters: Filters, live_from: date) -> list[Any]:
    """Decisions by pathway, modality, card shown, card outcome, override reason and accepted kinds."""
    s = tables.dashboard_daily
    return _summarised_then_live(
        connection,
        filters,
        live_from,
        summary_groups=[
            s.c.pathway,
            s.c.modality,
            s.c.card_shown,
            s.c.outcome,
            s.c.override_code,
            s.c.override_display,
            s.c.accepted_kinds,
        ],
        live_groups=outcome_groups(),
    )


def _summarised_then_live(
    connection: sa.Connection,
    filters: Filters,
    live_from: date,
    *,
    summary_groups: list[Any],
    live_groups: list[Any],
) -> list[Any]:
    """Rows of these groups and their decision counts: from the daily summaries for the days before
    `live_from`, counted from `decisions` for the days since (the same columns, in the same order)."""
    s = tables.dashboard_daily
    rows = list(
        connection.execute(
            sa.select(*summary_groups, sa.func.sum(s.c.n).label("n"))
            .where(*_summary_where(s, filters, live_from - timedelta(days=1)))
            .group_by(*summary_groups)
        )
    )
    live = filters.from_day(live_from)
    if live is not None:
        query = (
            sa.select(*live_groups, sa.func.count().label("n")).where(*live.where()).group_by(*live_groups)
        )
        rows.extend(connection.execute(query))
    return rows


def red_flag_counts(connection: sa.Connection, filters: Filters, live_from: date) -> Counter[str]:
    """Decisions in which each red flag was found."""
    s = tables.dashboard_daily_flags
    found: Counter[str] = Counter()
    summarised = connection.execute(
        sa.select(s.c.flag, sa.func.sum(s.c.n).label("n"))
        .where(*_summary_where(s, filters, live_from - timedelta(days=1)))
        .group_by(s.c.flag)
    )
    for row in summarised:
        found[row.flag] += int(row.n)
    live = filters.from_day(live_from)
    if live is not None:
        # Each distinct set of flags counted by the database; the sets are split here.
        flags = sa.cast(d.c.red_flags, sa.Text).label("flags")
        query = sa.select(flags, sa.func.count().label("n")).where(*live.where()).group_by(flags)
        for row in connection.execute(query):
            for flag in json.loads(row.flags or "[]"):
                found[flag] += row.n
    return found


def watch_list(connection: sa.Connection, filters: Filters) -> list[Any]:
    """Emergency and suspected-cancer cards overridden (dismissed), newest first, capped."""
    query = (
        sa.select(
            d.c.decided_at,
            d.c.pathway,
            d.c.modality,
            d.c.red_flags,
            d.c.consult_id,
            d.c.override_code,
            d.c.override_display,
            d.c.override_has_comment,
        )
        .where(*filters.where(), d.c.pathway.in_(WATCHED_PATHWAYS), d.c.outcome == "overridden")
        .order_by(d.c.decided_at.desc(), d.c.id.desc())
        .limit(WATCH_LIST_LIMIT + 1)
    )
    return list(connection.execute(query))


def export_rows(connection: sa.Connection, filters: Filters) -> Iterator[Any]:
    """Every decision in range with its card's latest outcome, oldest first, streamed."""
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
            sa.func.coalesce(d.c.outcome, NO_FEEDBACK).label("outcome"),
            d.c.accepted_kinds,
            d.c.override_system,
            d.c.override_code,
            d.c.override_display,
            d.c.client_id,
            d.c.tenant,
        )
        .where(*filters.where())
        .order_by(d.c.decided_at, d.c.id)
    )
    result = connection.execution_options(stream_results=True, yield_per=2000).execute(query)
    yield from result


def check_answers(connection: sa.Connection, filters: Filters) -> list[Any]:
    """(question, answer, count): the red-flag check questions GPs answered in the range (every
    client: the answers are not tied to one)."""
    a = tables.red_flag_answers
    query = (
        sa.select(a.c.question, a.c.answer, sa.func.count().label("n"))
        .where(a.c.answered_at >= filters.start, a.c.answered_at < filters.end)
        .group_by(a.c.question, a.c.answer)
    )
    return list(connection.execute(query))


def pathways_with_answers(connection: sa.Connection, filters: Filters) -> list[Any]:
    """(pathway from the record alone, pathway with the GP's answers, decisions) for the decisions
    that used answers from the red-flag check."""
    groups = [d.c.pathway_without_answers, d.c.pathway]
    query = (
        sa.select(*groups, sa.func.count().label("n"))
        .where(*filters.where(), d.c.pathway_without_answers.is_not(None))
        .group_by(*groups)
    )
    return list(connection.execute(query))
