"""What follows from a red-flag check: the pathway and the card's words, and the text for the notes.

The page has no record, only its link's ticket: the red flags the record showed, the rule features
and the questions asked. With the clinician's answers added as flags, the pathway rules choose
exactly as the next hook call will (which reads the record again and the stored answers), and the
pathway's card template gives the summary the GP would read on the card.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from cds_service.cards.filling import RecordTexts
from cds_service.cards.render import card_facts, render_card, suggested_words
from cds_service.cards.templating import labels
from cds_service.check.tickets import CheckTicket
from cds_service.knowledge import Knowledge
from cds_service.rules.answers import Answer, ClinicianAnswers
from cds_service.rules.detectors.findings import Findings
from cds_service.rules.model import CodeRef, Decision, ImagingOrder, Pathway, RedFlagId
from cds_service.rules.pathway import choose_pathway, rationale
from cds_service.rules.pathway_rules import load_pathway_rules

# Said on the page's outcome when the card said some of the record could not be read.
PART_UNREAD = "some of the record could not be read (see the card)"


@dataclass(frozen=True)
class AnsweredQuestion:
    """One question of the page and its answer, for the outcome and the notes."""

    flag: RedFlagId
    label: str
    answer: Answer


@dataclass(frozen=True)
class CheckOutcome:
    """The pathway the answers lead to, in the card's words."""

    pathway: Pathway
    pathway_label: str
    summary: Markup  # the card template's summary, already HTML-escaped
    rationale: str
    red_flags: tuple[str, ...]  # labels of the flags, found in the record or stated
    answered: tuple[AnsweredQuestion, ...]
    changed: bool  # the answers changed the pathway the record alone gave


def flag_label(flag: RedFlagId) -> str:
    """The red flag's human label (cards_templates/labels.json)."""
    label: str = labels()["red_flags"].get(flag.value, flag.value)
    return label


def order_name(ticket: CheckTicket) -> str:
    """The order as the knowledge names it, e.g. "MRI lumbar spine" (never the EHR's own text)."""
    names = labels()
    regions = " and ".join(names["regions"].get(r.value, r.value) for r in ticket.regions)
    return f"{names['modalities'][ticket.modality.value]} {regions or names['regions']['unspecified']}"


def what_follows(
    ticket: CheckTicket, answers: Mapping[RedFlagId, Answer], answered_at: datetime, knowledge: Knowledge
) -> CheckOutcome:
    """The pathway and the card's summary once these answers are added to what the record showed."""
    rules = load_pathway_rules()
    findings = Findings(features=set(ticket.features))
    for flag in ticket.found:
        findings.flags[flag] = []
    record_only = choose_pathway(findings.flags, findings.features, rules=rules).pathway
    ClinicianAnswers(answers=answers, answered_at=answered_at).add_to(findings)
    rule = choose_pathway(findings.flags, findings.features, rules=rules)
    order = ImagingOrder(
        reference=ticket.order_reference,
        resource={"resourceType": "ServiceRequest"},
        modality=ticket.modality,
        regions=ticket.regions,
        contrast=None,
        matched=CodeRef(ticket.order_system, ticket.order_code),
        matched_by="code",
    )
    decision = Decision(
        order=order,
        pathway=rule.pathway,
        rating=rules.rating(rule.pathway, order.modality),
        consult_id=ticket.consult_id,
        red_flags=findings.red_flags(),
        not_checked=(PART_UNREAD,) if ticket.not_checked else (),
        rationale=rationale(rule, order, rules),
    )
    texts = RecordTexts()
    facts = card_facts(
        decision, knowledge, hook="order-select", suggested=suggested_words(order.regions), texts=texts
    )
    return CheckOutcome(
        pathway=rule.pathway,
        pathway_label=labels().get("pathways", {}).get(rule.pathway.value, rule.pathway.value),
        summary=Markup(render_card(facts, texts).summary),  # noqa: S704 - escaped by the card templates
        rationale=decision.rationale,
        red_flags=tuple(flag_label(flag.id) for flag in decision.red_flags),
        answered=tuple(AnsweredQuestion(flag, flag_label(flag), answer) for flag, answer in answers.items()),
        changed=rule.pathway != record_only,
    )
