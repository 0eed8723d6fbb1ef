"""The red-flag check in `spine-cds report`: how often each question was answered, and how often an
answer changed the pathway (CONTRACTS.md: pathway_without_answers set and different from pathway)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from cds_service.store import tables


@dataclass
class CheckReport:
    """Answers by question, answer sets, and the decisions the answers went into."""

    answer_sets: int = 0
    questions: dict[str, dict[str, int]] = field(default_factory=dict)  # question -> {yes, no}
    decisions_with_answers: int = 0
    pathway_changed: int = 0
    changes: dict[tuple[str, str], int] = field(default_factory=dict)  # (without, with) -> decisions

    def to_json(self) -> dict[str, Any]:
        """The check's part of the report as plain JSON."""
        return {
            "answerSets": self.answer_sets,
            "questions": [
                {"question": question, "yes": counts.get("yes", 0), "no": counts.get("no", 0)}
                for question, counts in sorted(self.questions.items())
            ],
            "decisionsWithAnswers": self.decisions_with_answers,
            "pathwayChanged": self.pathway_changed,
            "changes": [
                {"withoutAnswers": without, "withAnswers": with_answers, "decisions": n}
                for (without, with_answers), n in sorted(self.changes.items())
            ],
        }


def build_check_report(engine: sa.Engine, *, since: datetime | None = None) -> CheckReport:
    """Aggregate the stored answers and the decisions that used them, since `since` (all when None).

    A decision used answers when `pathway_without_answers` is set (it is exactly then)."""
    a, d = tables.red_flag_answers, tables.decisions
    by_answer = sa.select(a.c.question, a.c.answer, sa.func.count()).group_by(a.c.question, a.c.answer)
    sets = sa.select(sa.func.count(sa.distinct(a.c.answer_set_id)))
    with_answers = (
        sa.select(d.c.pathway_without_answers, d.c.pathway, sa.func.count())
        .where(d.c.pathway_without_answers.is_not(None))
        .group_by(d.c.pathway_without_answers, d.c.pathway)
    )
    if since is not None:
        by_answer = by_answer.where(a.c.answered_at >= since)
        sets = sets.where(a.c.answered_at >= since)
        with_answers = with_answers.where(d.c.decided_at >= since)
    report = CheckReport()
    with engine.connect() as connection:
        for question, answer, n in connection.execute(by_answer):
            report.questions.setdefault(question, {})[answer] = int(n)
        report.answer_sets = int(connection.execute(sets).scalar_one())
        for without, pathway, n in connection.execute(with_answers):
            report.decisions_with_answers += int(n)
            if without != pathway:
                report.changes[(without, pathway)] = int(n)
                report.pathway_changed += int(n)
    return report
