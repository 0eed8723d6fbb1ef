"""The dashboard's panels, computed from the aggregates the database returns (see query.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from cds_service.dashboard import query
from cds_service.dashboard.query import Client, Filters
from cds_service.dashboard.summaries import ensure_summaries, settled_until
from cds_service.dashboard.tariff import Tariff
from cds_service.rules.model import Modality, Pathway

PATHWAYS = [p.value for p in Pathway]
MODALITIES = [m.value for m in Modality]
MODALITY_LABELS = {"xray": "X-ray", "ct": "CT", "mri": "MRI"}
CANCELLING = frozenset({"cancel-order", "refer-physiotherapy"})


@dataclass
class PathwayOutcomes:
    """What happened to one pathway's cards."""

    pathway: str
    decisions: int = 0
    shown: int = 0
    accepted: int = 0
    overridden: int = 0

    @property
    def no_feedback(self) -> int:
        """Cards shown that the EHR reported nothing about."""
        return self.shown - self.accepted - self.overridden


@dataclass
class ImagingChange:
    """One kind of change the cards made to orders, and its estimated cost effect."""

    label: str
    orders: int = 0
    cost_avoided: float = 0.0  # negative: the change added cost (e.g. an X-ray made an MRI)


@dataclass
class WatchedCard:
    """An emergency or suspected-cancer card that was overridden: for the safety officer."""

    decided_at: datetime
    pathway: str
    modality: str
    red_flags: list[str]
    reason: str
    comment_given: bool
    consult_id: str


@dataclass
class Figures:
    """Everything the dashboard page shows for one set of filters."""

    filters: Filters
    clients: list[Client]
    weeks: list[date]
    by_pathway: dict[date, Counter[str]]
    by_modality: dict[date, Counter[str]]
    outcomes: list[PathwayOutcomes]
    reasons: list[tuple[str, int]]
    changes: list[ImagingChange]
    red_flags: list[tuple[str, int]]
    watch: list[WatchedCard]
    watch_truncated: bool
    tariff: Tariff
    unwatched_no_feedback: int = 0
    questions: list[tuple[str, int, int]] = field(default_factory=list)  # (red flag, yes, no)
    with_answers: int = 0  # decisions that used the GP's answers
    changed_by_answers: list[tuple[str, str, int]] = field(default_factory=list)  # (from, to, n)

    @property
    def decisions(self) -> int:
        """Decisions in range (for the chosen client)."""
        return sum(p.decisions for p in self.outcomes)

    @property
    def net_cost_avoided(self) -> float:
        """Cost avoided minus cost added, over every change."""
        return sum(change.cost_avoided for change in self.changes)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _weeks(filters: Filters) -> list[date]:
    first = filters.first_day - timedelta(days=filters.first_day.weekday())
    return [first + timedelta(weeks=i) for i in range((filters.last_day - first).days // 7 + 1)]


def _reason_label(row: Any) -> str:
    if row.override_code is None:
        return "(no reason given)"
    return row.override_display or row.override_code


def _changes(rows: list[Any], tariff: Tariff) -> list[ImagingChange]:
    cancelled = ImagingChange("Orders cancelled (or replaced by a referral)")
    to_xray = ImagingChange("MRI or CT changed to X-ray")
    to_mri = ImagingChange("X-ray or CT changed to MRI (urgent, suspected cancer or infection)")
    bloods = ImagingChange("Infection bloods added (CRP and full blood count)")
    for row in rows:
        kinds = set((row.accepted_kinds or "").split())
        if kinds & CANCELLING:
            cancelled.orders += row.n
            cancelled.cost_avoided += row.n * tariff.cost(row.modality)
        if "switch-to-xray" in kinds:
            to_xray.orders += row.n
            to_xray.cost_avoided += row.n * (tariff.cost(row.modality) - tariff.cost("xray"))
        if "switch-to-mri" in kinds:
            to_mri.orders += row.n
            to_mri.cost_avoided -= row.n * (tariff.cost("mri") - tariff.cost(row.modality))
        if "order-infection-bloods" in kinds:
            bloods.orders += row.n
            bloods.cost_avoided -= row.n * tariff.cost("infection-bloods")
    return [cancelled, to_xray, to_mri, bloods]


def build_figures(engine: sa.Engine, filters: Filters, tariff: Tariff) -> Figures:
    """Run the aggregate queries for the filters and shape them into the page's panels."""
    today = datetime.now(UTC).date()
    ensure_summaries(engine, filters, today)
    live_from = settled_until(today) + timedelta(days=1)
    with engine.connect() as connection:
        query.tune_for_aggregates(connection)
        daily = query.daily_counts(connection, filters, live_from)
        outcome_rows = query.outcome_counts(connection, filters, live_from)
        flags = query.red_flag_counts(connection, filters, live_from)
        watch_rows = query.watch_list(connection, filters)
        answer_rows = query.check_answers(connection, filters)
        with_answers = query.pathways_with_answers(connection, filters)

    clients = sorted({Client(r.client_id, r.tenant) for r in daily}, key=lambda c: c.label)
    by_pathway: dict[date, Counter[str]] = defaultdict(Counter)
    by_modality: dict[date, Counter[str]] = defaultdict(Counter)
    for row in daily:
        if filters.client is not None and Client(row.client_id, row.tenant) != filters.client:
            continue
        day = _as_date(row.day)
        week = day - timedelta(days=day.weekday())
        by_pathway[week][row.pathway] += int(row.n)
        by_modality[week][row.modality] += int(row.n)

    outcomes = {p: PathwayOutcomes(p) for p in PATHWAYS}
    reasons: Counter[str] = Counter()
    unwatched = 0
    for row in outcome_rows:
        entry = outcomes.setdefault(row.pathway, PathwayOutcomes(row.pathway))
        entry.decisions += row.n
        entry.shown += row.n if row.card_shown else 0
        if row.outcome == "accepted":
            entry.accepted += row.n
        elif row.outcome == "overridden":
            entry.overridden += row.n
            reasons[_reason_label(row)] += row.n
        elif row.card_shown and row.pathway in query.WATCHED_PATHWAYS:
            unwatched += row.n
    accepted_rows = [row for row in outcome_rows if row.outcome == "accepted"]

    watch = [
        WatchedCard(
            decided_at=row.decided_at,
            pathway=row.pathway,
            modality=row.modality,
            red_flags=list(row.red_flags or []),
            reason=_reason_label(row),
            comment_given=bool(row.override_has_comment),
            consult_id=row.consult_id,
        )
        for row in watch_rows[: query.WATCH_LIST_LIMIT]
    ]
    answered: dict[str, Counter[str]] = defaultdict(Counter)
    for row in answer_rows:
        answered[row.question][row.answer] += row.n
    questions = sorted(
        ((q, c["yes"], c["no"]) for q, c in answered.items()), key=lambda item: (-item[1] - item[2], item[0])
    )
    changed = [
        (row.pathway_without_answers, row.pathway, row.n)
        for row in with_answers
        if row.pathway_without_answers != row.pathway
    ]
    return Figures(
        questions=questions,
        with_answers=sum(row.n for row in with_answers),
        changed_by_answers=sorted(changed, key=lambda item: -item[2]),
        filters=filters,
        clients=clients,
        weeks=_weeks(filters),
        by_pathway=by_pathway,
        by_modality=by_modality,
        outcomes=[o for o in outcomes.values() if o.decisions or o.pathway in PATHWAYS],
        reasons=reasons.most_common(),
        changes=_changes(accepted_rows, tariff),
        red_flags=flags.most_common(),
        watch=watch,
        watch_truncated=len(watch_rows) > query.WATCH_LIST_LIMIT,
        tariff=tariff,
        unwatched_no_feedback=unwatched,
    )
