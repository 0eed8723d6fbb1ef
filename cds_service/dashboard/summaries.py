"""Per-day summaries of settled days, so a year's dashboard adds up thousands of rows, not millions.

A day is "settled" once it ended SETTLE_DAYS ago: its decisions are all logged and nearly all their
feedback has come (an EHR reports a card when the GP acts on it). The first page view that needs a
settled day counts its decisions once, with the same GROUP BY as the live figures, into
`dashboard_daily` (by pathway, modality, card outcome, reason, what was accepted, client) and
`dashboard_daily_flags` (by red flag), and marks the day in `dashboard_days`. Feedback that arrives
later for one of its cards removes the mark (cds_service/store/card_outcome.py), and the next view
counts the day again. The days since are always counted live from `decisions`. Two nodes never both
count a day: each first claims the mark (INSERT ... ON CONFLICT DO NOTHING) in the transaction that
writes the counts.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from cds_service.dashboard.query import Filters, day_of, outcome_groups, tune_for_aggregates
from cds_service.store import tables

SETTLE_DAYS = 7
DAYS_PER_TRANSACTION = 31
d = tables.decisions
days_done, daily, daily_flags = tables.dashboard_days, tables.dashboard_daily, tables.dashboard_daily_flags


def settled_until(today: date) -> date:
    """The last settled day."""
    return today - timedelta(days=SETTLE_DAYS)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _live_rows(connection: sa.Connection, first: date, last: date) -> tuple[list[Any], list[Any]]:
    """Outcome counts and red-flag combinations per day, client and tenant, from `decisions`."""
    day = day_of(connection.dialect.name).label("day")
    where = Filters(first, last).where()
    groups = [day, d.c.client_id, d.c.tenant, *outcome_groups()]
    outcomes = connection.execute(
        sa.select(*groups, sa.func.count().label("n")).where(*where).group_by(*groups)
    )
    flags_text = sa.cast(d.c.red_flags, sa.Text).label("flags")
    flag_groups = [day, d.c.client_id, d.c.tenant, flags_text]
    flags = connection.execute(
        sa.select(*flag_groups, sa.func.count().label("n")).where(*where).group_by(*flag_groups)
    )
    return list(outcomes), list(flags)


def _claim(connection: sa.Connection, days: list[date]) -> list[date]:
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    now = datetime.now(UTC)
    claimed = []
    for day in days:
        statement = (
            insert(days_done)
            .values(day=day, summarised_at=now)
            .on_conflict_do_nothing(index_elements=["day"])
            .returning(days_done.c.day)
        )
        if connection.execute(statement).first() is not None:
            claimed.append(day)
    return claimed


def summarise(connection: sa.Connection, days: list[date]) -> None:
    """Count the given settled days into the summary tables (days another node claimed are skipped)."""
    claimed = set(_claim(connection, sorted(days)))
    if not claimed:
        return
    connection.execute(daily.delete().where(daily.c.day.in_(claimed)))
    connection.execute(daily_flags.delete().where(daily_flags.c.day.in_(claimed)))
    outcomes, flag_rows = _live_rows(connection, min(claimed), max(claimed))
    rows = [{**row._asdict(), "day": _as_date(row.day)} for row in outcomes if _as_date(row.day) in claimed]
    if rows:
        connection.execute(daily.insert(), rows)
    per_flag: Counter[tuple[date, str | None, str | None, str]] = Counter()
    for row in flag_rows:
        day = _as_date(row.day)
        if day in claimed:
            for flag in json.loads(row.flags or "[]"):
                per_flag[(day, row.client_id, row.tenant, flag)] += row.n
    if per_flag:
        connection.execute(
            daily_flags.insert(),
            [
                {"day": day, "client_id": client, "tenant": tenant, "flag": flag, "n": n}
                for (day, client, tenant, flag), n in per_flag.items()
            ],
        )


def ensure_summaries(engine: sa.Engine, filters: Filters, today: date) -> None:
    """Summarise the settled days of the range that are not summarised yet."""
    last = min(filters.last_day, settled_until(today))
    if filters.first_day > last:
        return
    with engine.connect() as connection:
        done = {
            _as_date(day)
            for day in connection.execute(
                sa.select(days_done.c.day).where(days_done.c.day.between(filters.first_day, last))
            ).scalars()
        }
    wanted = [filters.first_day + timedelta(days=i) for i in range((last - filters.first_day).days + 1)]
    missing = [day for day in wanted if day not in done]
    # In chunks, each committed: a view stopped half-way (a worker timeout) keeps what it counted.
    for start in range(0, len(missing), DAYS_PER_TRANSACTION):
        with engine.begin() as connection:
            tune_for_aggregates(connection)
            summarise(connection, missing[start : start + DAYS_PER_TRANSACTION])
