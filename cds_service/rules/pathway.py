"""Pathway choice: detect the red flags for an order, then apply the ordered pathway rules.

`choose_pathway` is pure (flags and features in, pathway and reason out) so that tests can drive
every combination; `decide` wraps it with detection, the PAMA rating, the questions to ask and what
could not be checked.
"""

from __future__ import annotations

from collections.abc import Iterable

from cds_service.fhir.record import PatientRecord
from cds_service.knowledge import Knowledge
from cds_service.rules.answers import ClinicianAnswers
from cds_service.rules.detectors import Findings, detect_red_flags
from cds_service.rules.model import AskAbout, Decision, ImagingOrder, Pathway, RedFlagId
from cds_service.rules.pathway_rules import PathwayRule, PathwayRules, load_pathway_rules

# The data whose absence leaves a flag unknown rather than absent (Findings.measured).
UNMEASURED = {
    RedFlagId.WEIGHT_LOSS: "weight-series",
    RedFlagId.SYSTEMICALLY_UNWELL: "vital-signs",
}


def choose_pathway(
    flags: Iterable[RedFlagId | str],
    features: Iterable[str] = (),
    *,
    rules: PathwayRules | None = None,
) -> PathwayRule:
    """The first pathway rule that holds for these red flags and features."""
    rules = rules or load_pathway_rules()
    return rules.choose({str(f) for f in flags}, set(features))


def decide(
    order: ImagingOrder,
    record: PatientRecord,
    knowledge: Knowledge,
    *,
    consult_id: str,
    answers: ClinicianAnswers | None = None,
) -> Decision:
    """The one pathway for this order, with the red flags and evidence behind it (and the clinician's
    answers from the red-flag check, when given: a 'yes' is a flag, a 'no' a question settled)."""
    rules = load_pathway_rules()
    findings = detect_red_flags(order, record, knowledge)
    record_only = None
    if answers is not None:
        record_only = choose_pathway(findings.flags, findings.features, rules=rules).pathway
        answers.add_to(findings)
    rule = choose_pathway(findings.flags, findings.features, rules=rules)
    asked = questions(findings, rules)
    rating = rules.rating(rule.pathway, order.modality)
    return Decision(
        order=order,
        pathway=rule.pathway,
        rating=rating,
        consult_id=consult_id,
        red_flags=findings.red_flags(),
        ask_about=answers.still_to_ask(asked) if answers is not None else asked,
        not_checked=tuple(findings.not_checked),
        rationale=rationale(rule, order, rules),
        recent_infection_bloods=(
            tuple(findings.infection_bloods) if rule.pathway == Pathway.MRI_WITH_INFECTION_BLOODS else ()
        ),
        deceased=findings.deceased,
        extras={"rule": rule.id, "features": sorted(findings.features), "age": findings.age},
        answers_used=answers.used() if answers is not None else None,
        pathway_without_answers=record_only if answers is not None and answers.answers else None,
    )


def questions(findings: Findings, rules: PathwayRules) -> tuple[AskAbout, ...]:
    """Flags the record did not show and cannot be trusted to show: ask the GP, never assume absence."""
    asked = [AskAbout(q.flag, q.question) for q in rules.ask_about if q.flag not in findings.flags]
    for q in rules.ask_when_unmeasured:
        if q.flag not in findings.flags and UNMEASURED.get(q.flag) not in findings.measured:
            asked.append(AskAbout(q.flag, q.question))
    return tuple(asked)


def rationale(rule: PathwayRule, order: ImagingOrder, rules: PathwayRules) -> str:
    """One sentence: why this pathway, and why the ordered test is the wrong one when it is."""
    wrong = rules.wrong_test.get(rule.pathway, {}).get(order.modality.value)
    if wrong:
        return f"{rule.rationale.rstrip('.')}; {wrong}."
    return rule.rationale
