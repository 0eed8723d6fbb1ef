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
from cds_service.rules.suspicion import Assessment, load_suspicion_rules

# The data whose absence leaves a flag unknown rather than absent (Findings.measured).
UNMEASURED = {
    RedFlagId.WEIGHT_LOSS: "weight-series",
    RedFlagId.SYSTEMICALLY_UNWELL: "vital-signs",
    RedFlagId.FEVER: "temperature",
}


def assess_and_choose(
    flags: Iterable[RedFlagId | str], features: Iterable[str] = (), *, rules: PathwayRules | None = None
) -> tuple[PathwayRule, Assessment]:
    """The suspicions these red flags and features raise, and the pathway rule that follows them."""
    flag_set, feature_set = {str(f) for f in flags}, set(features)
    assessment = load_suspicion_rules().assess(flag_set, feature_set)
    rule = (rules or load_pathway_rules()).choose(flag_set, feature_set | assessment.features)
    return rule, assessment


def choose_pathway(
    flags: Iterable[RedFlagId | str],
    features: Iterable[str] = (),
    *,
    rules: PathwayRules | None = None,
) -> PathwayRule:
    """The first pathway rule that holds for these red flags, features and the suspicions they raise."""
    return assess_and_choose(flags, features, rules=rules)[0]


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
    rule, assessment = assess_and_choose(findings.flags, findings.features, rules=rules)
    asked = questions(findings, rules, rule.pathway)
    rating = rules.rating(rule.pathway, order.modality)
    followed = assessment.led_by(rule.follows)
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
        suspicions=followed,
        extras={
            "rule": rule.id,
            "suspicion_rules": [s.rule for s in followed],
            "features": sorted(findings.features),
            "age": findings.age,
        },
        answers_used=answers.used() if answers is not None else None,
        pathway_without_answers=record_only if answers is not None and answers.answers else None,
    )


def questions(findings: Findings, rules: PathwayRules, pathway: Pathway) -> tuple[AskAbout, ...]:
    """Flags the record did not show and cannot be trusted to show: ask the GP, never assume absence.

    An emergency card asks nothing: it says what to do now and why (issue 9 item 7).
    """
    if pathway == Pathway.EMERGENCY_DEPARTMENT:
        return ()
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
