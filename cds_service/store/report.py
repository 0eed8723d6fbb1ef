"""Acceptance and override rates from the log: feedback joined to decisions through the card uuid.

A card's outcome is its latest feedback (an EHR may report a card again, e.g. accepted then
overridden). Rates are over the cards that got feedback: ignored cards produce none (CDS Hooks).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from cds_service.store import tables


@dataclass
class PathwayStats:
    """What happened to the decisions of one pathway."""

    pathway: str
    decisions: int = 0
    cards_shown: int = 0
    with_feedback: int = 0
    accepted: int = 0
    overridden: int = 0
    override_reasons: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted cards / cards with feedback."""
        return self.accepted / self.with_feedback if self.with_feedback else None

    @property
    def override_rate(self) -> float | None:
        """Overridden cards / cards with feedback."""
        return self.overridden / self.with_feedback if self.with_feedback else None


@dataclass
class Report:
    """Per-pathway statistics, override reasons overall, and feedback that matched no decision."""

    pathways: list[PathwayStats]
    reasons: list[tuple[str, str, int]]  # (reason, display, cards overridden with it)
    unmatched_feedback: int

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON."""
        return {
            "pathways": [
                {
                    "pathway": p.pathway,
                    "decisions": p.decisions,
                    "cardsShown": p.cards_shown,
                    "withFeedback": p.with_feedback,
                    "accepted": p.accepted,
                    "overridden": p.overridden,
                    "acceptanceRate": p.acceptance_rate,
                    "overrideRate": p.override_rate,
                    "overrideReasons": {reason: n for (reason, _), n in p.override_reasons.most_common()},
                }
                for p in self.pathways
            ],
            "overrideReasons": [{"reason": r, "display": d, "count": n} for r, d, n in self.reasons],
            "unmatchedFeedback": self.unmatched_feedback,
        }


def _reason(row: Any) -> tuple[str, str]:
    if row.override_code is None:
        return "(no reason given)", ""
    system = f"{row.override_system}|" if row.override_system else ""
    return f"{system}{row.override_code}", row.override_display or ""


def build_report(engine: sa.Engine, *, since: datetime | None = None) -> Report:
    """Aggregate the decisions made since `since` (all when None) and the feedback on their cards."""
    d, f = tables.decisions, tables.feedback
    decision_query = sa.select(d.c.card_uuid, d.c.pathway, d.c.card_shown)
    feedback_query = sa.select(
        f.c.card_uuid, f.c.outcome, f.c.override_system, f.c.override_code, f.c.override_display
    ).order_by(f.c.outcome_at, f.c.id)
    if since is not None:
        decision_query = decision_query.where(d.c.decided_at >= since)
        feedback_query = feedback_query.where(f.c.outcome_at >= since)
    with engine.connect() as connection:
        decision_rows = list(connection.execute(decision_query))
        feedback_rows = list(connection.execute(feedback_query))

    stats: dict[str, PathwayStats] = {}
    pathway_of_card: dict[str, str] = {}
    for decision in decision_rows:
        entry = stats.setdefault(decision.pathway, PathwayStats(decision.pathway))
        entry.decisions += 1
        entry.cards_shown += int(bool(decision.card_shown))
        pathway_of_card[decision.card_uuid] = decision.pathway

    latest: dict[str, Any] = {}
    unmatched = set()
    for row in feedback_rows:  # in time order: the last one per card wins
        if row.card_uuid in pathway_of_card:
            latest[row.card_uuid] = row
        else:
            unmatched.add(row.card_uuid)

    reasons: Counter[tuple[str, str]] = Counter()
    for card, row in latest.items():
        entry = stats[pathway_of_card[card]]
        entry.with_feedback += 1
        if row.outcome == "accepted":
            entry.accepted += 1
        else:
            entry.overridden += 1
            reason, display = _reason(row)
            entry.override_reasons[(reason, display)] += 1
            reasons[(reason, display)] += 1
    return Report(
        pathways=sorted(stats.values(), key=lambda p: (-p.decisions, p.pathway)),
        reasons=[(reason, display, n) for (reason, display), n in reasons.most_common()],
        unmatched_feedback=len(unmatched),
    )
