"""The clinician's answers from the red-flag check, as the rules use them.

A 'yes' is a red flag the clinician stated, with evidence saying so and when; a 'no' takes the
question off the card. A 'no' never removes a flag the record itself shows: the record wins, so an
answer can add concern but never hide what was found. Answers that could not be read (database
down) are said on the card, so a 'yes' given moments ago is never silently lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from cds_service.rules.detectors.findings import Findings
from cds_service.rules.model import AskAbout, Evidence, RedFlagId

Answer = Literal["yes", "no"]
ANSWERS: tuple[Answer, ...] = ("yes", "no")
EVIDENCE_SOURCE = "red-flag check"
# GPs in England read clock times in UK time.
CLINIC_TIME = ZoneInfo("Europe/London")
UNREADABLE = "answers given in the red-flag check (the service's database could not be read)"


@dataclass(frozen=True)
class ClinicianAnswers:
    """What the clinician answered for one patient and order: {red flag: 'yes' | 'no'}.

    `answered_at` is the latest answer's time; `times` holds each answer's own when they differ
    (answers given in two sittings). `unreadable` marks answers that may exist but could not be read.
    """

    answers: Mapping[RedFlagId, Answer]
    answered_at: datetime
    times: Mapping[RedFlagId, datetime] = field(default_factory=dict)
    unreadable: bool = False

    @classmethod
    def could_not_be_read(cls, now: datetime) -> ClinicianAnswers:
        """Stands for answers that may exist but could not be read: the card says so."""
        return cls(answers={}, answered_at=now, unreadable=True)

    def time_of(self, flag: RedFlagId) -> datetime:
        """When this flag's answer was given."""
        return self.times.get(flag, self.answered_at)

    def stated_evidence(self, flag: RedFlagId) -> Evidence:
        """The evidence of a red flag the clinician stated: "stated by the clinician ... at 10:42"."""
        moment = self.time_of(flag)
        clock = moment.astimezone(CLINIC_TIME).strftime("%H:%M")
        return Evidence(
            reference=None,
            what=f"stated by the clinician in the red-flag check at {clock}",
            date=moment.isoformat(timespec="seconds"),
            source=EVIDENCE_SOURCE,
        )

    def add_to(self, findings: Findings) -> None:
        """Each 'yes' becomes a red flag; answers that could not be read are a gap the card names."""
        for flag, answer in self.answers.items():
            if answer == "yes":
                findings.add(flag, self.stated_evidence(flag))
        if self.unreadable:
            findings.note_unchecked(UNREADABLE)

    def still_to_ask(self, questions: tuple[AskAbout, ...]) -> tuple[AskAbout, ...]:
        """The card's questions less those answered (a 'yes' is already a flag, a 'no' is settled)."""
        return tuple(q for q in questions if q.id not in self.answers)

    def used(self) -> dict[str, str] | None:
        """The answers as the decision log keeps them ({red flag id: answer}); None when none."""
        return {flag.value: answer for flag, answer in self.answers.items()} or None
