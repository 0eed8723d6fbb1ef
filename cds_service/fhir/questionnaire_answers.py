"""The clinician's answers read back from the EHR: QuestionnaireResponses to the red-flag questions.

A response counts only when every one of these holds, whatever the FHIR server's search did (a
server may ignore a search parameter it does not support and return every patient's responses):

- it answers our Questionnaire (`questionnaire` is its canonical URL, with or without `|version`);
- its `subject` is this patient (`Patient/<context.patientId>`), never another or none;
- its status is `completed` or `amended`;
- it was authored within SPINE_CDS_ANSWERS_VALID_MINUTES before now (and not in the future).

Only yes/no answers to the Questionnaire's own items are read (a `valueCoding` Y/N of HL7 v2 0136,
or a `valueBoolean`); the latest answer to each question wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cds_service.fhir.record import Resource
from cds_service.rules.answers import Answer, ClinicianAnswers
from cds_service.rules.model import RedFlagId

USABLE_STATUSES = frozenset({"completed", "amended"})
YES_NO_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0136"
_CODED: dict[str, Answer] = {"Y": "yes", "N": "no"}
# Clocks differ a little between the EHR and the service: a response this far ahead still counts.
CLOCK_SKEW = timedelta(minutes=2)
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")


@dataclass(frozen=True)
class AnswerRules:
    """What makes a response usable for one hook call."""

    questionnaire_url: str
    questions: frozenset[RedFlagId]
    patient_id: str
    now: datetime
    valid_for: timedelta


def _parse_instant(value: Any) -> datetime | None:
    """A FHIR dateTime with a time zone as an aware datetime; None for anything less precise."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _is_about(resource: Resource, patient_id: str) -> bool:
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if not isinstance(reference, str):
        return False
    match = _PATIENT_REFERENCE.search(reference.strip())
    return match is not None and match.group(1) == patient_id


def _answers_ours(resource: Resource, questionnaire_url: str) -> bool:
    named = resource.get("questionnaire")
    return isinstance(named, str) and named.split("|", 1)[0] == questionnaire_url


def authored_if_usable(resource: Resource, rules: AnswerRules) -> datetime | None:
    """When the response was authored, if it may be used for this call (see the module doc)."""
    if resource.get("resourceType") != "QuestionnaireResponse":
        return None
    if resource.get("status") not in USABLE_STATUSES:
        return None
    if not _answers_ours(resource, rules.questionnaire_url) or not _is_about(resource, rules.patient_id):
        return None
    authored = _parse_instant(resource.get("authored"))
    if authored is None or not rules.now - rules.valid_for <= authored <= rules.now + CLOCK_SKEW:
        return None
    return authored


def _answer_of(item: Mapping[str, Any]) -> Answer | None:
    answers = item.get("answer")
    if not isinstance(answers, list) or len(answers) != 1 or not isinstance(answers[0], dict):
        return None  # none, or several to a single-choice question: not a clear answer
    value = answers[0]
    if isinstance(value.get("valueBoolean"), bool):
        return "yes" if value["valueBoolean"] else "no"
    coding = value.get("valueCoding")
    if isinstance(coding, dict) and coding.get("system") == YES_NO_SYSTEM:
        return _CODED.get(str(coding.get("code")))
    return None


def _item_answers(resource: Resource, questions: frozenset[RedFlagId]) -> Iterable[tuple[RedFlagId, Answer]]:
    items = resource.get("item")
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict) or item.get("linkId") not in questions:
            continue
        answer = _answer_of(item)
        if answer is not None:
            yield RedFlagId(item["linkId"]), answer


def clinician_answers(resources: Iterable[Resource], rules: AnswerRules) -> ClinicianAnswers | None:
    """The answers the usable responses give, latest per question; None when there are none."""
    dated = [(authored, r) for r in resources if (authored := authored_if_usable(r, rules)) is not None]
    answers: dict[RedFlagId, Answer] = {}
    times: dict[RedFlagId, datetime] = {}
    for authored, resource in sorted(dated, key=lambda pair: pair[0]):
        for flag, answer in _item_answers(resource, rules.questions):
            answers[flag] = answer
            times[flag] = authored
    if not answers:
        return None
    return ClinicianAnswers(answers=answers, answered_at=max(times.values()), times=times)


def answer_rules(
    *, questionnaire_url: str, questions: Iterable[RedFlagId], patient_id: str, valid_minutes: int
) -> AnswerRules:
    """The rules for a hook call made now."""
    return AnswerRules(
        questionnaire_url=questionnaire_url,
        questions=frozenset(questions),
        patient_id=patient_id,
        now=datetime.now(UTC),
        valid_for=timedelta(minutes=valid_minutes),
    )


def combined(first: ClinicianAnswers | None, second: ClinicianAnswers | None) -> ClinicianAnswers | None:
    """Answers from two sources (the red-flag check page and the EHR): the later answer per question."""
    if first is None or second is None:
        return first or second
    answers = dict(first.answers)
    times = {flag: first.time_of(flag) for flag in first.answers}
    for flag, answer in second.answers.items():
        if flag not in times or second.time_of(flag) >= times[flag]:
            answers[flag], times[flag] = answer, second.time_of(flag)
    return ClinicianAnswers(
        answers=answers,
        answered_at=max(first.answered_at, second.answered_at),
        times=times,
        unreadable=first.unreadable or second.unreadable,
    )
