"""Cards, suggestions and systemActions: what the GP sees and what the EHR records per order."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from cds_service.cards.decision_extension import decision_action
from cds_service.cards.filling import RecordTexts
from cds_service.cards.ids import ConsultUuids
from cds_service.cards.links import links_for, override_reasons_for
from cds_service.cards.render import card_facts, render_card, suggested_words
from cds_service.cards.suggestions import build_suggestions, plan_card
from cds_service.fhir.record import Resource, pruned
from cds_service.hooks.response import Card, HookResponse, Source
from cds_service.knowledge import Knowledge
from cds_service.knowledge.guideline import Guideline
from cds_service.rules.model import Decision
from cds_service.settings import Settings

# Response extension key under which the sandbox (and PAMA-era clients) read systemActions.
MIRROR_KEY = "systemActions"
# Decision.extras key: notes on record data set aside because it named another patient.
SET_ASIDE = "set_aside"


@cache
def card_source(guideline: Guideline) -> Source:
    """The card's source: the guideline, with when it was checked; built once per knowledge load."""
    return Source(label=f"{guideline.label} ({guideline.version})", url=guideline.url)


def build_card(
    decision: Decision,
    *,
    knowledge: Knowledge,
    settings: Settings,
    hook: str,
    draft: Resource | None = None,
) -> Card | None:
    """The one card for a decision, or None when imaging is supported, nothing is to add and quiet
    (never when part of the record was set aside as another patient's).

    `draft` is the order `pruned` of empty values, when the caller already has it for this response.
    """
    plan = plan_card(decision)
    if plan.indicator is None and settings.quiet_when_supported and SET_ASIDE not in decision.extras:
        return None  # quiet, unless another patient's data came with the call: the GP must hear of it
    texts = RecordTexts()
    facts = card_facts(
        decision, knowledge, hook=hook, suggested=suggested_words(decision.order.regions), texts=texts
    )
    wording = render_card(facts, texts)
    if draft is None:
        draft = pruned(decision.order.resource)
    uuids = ConsultUuids(decision.consult_id)
    suggestions = build_suggestions(decision, plan, wording, draft, uuids)
    # Cards, suggestions and actions are built with `model_construct`, without validation: every
    # value is made by this package from the validated knowledge and the parsed request, and
    # validating each model again was a quarter of the cards' cost. The test suite checks every
    # answer it gets against the specification (tests/invariants.py).
    return Card.model_construct(
        uuid=uuids.card(),
        summary=wording.summary,
        detail=wording.detail,
        indicator=plan.indicator or "info",
        source=card_source(knowledge.guideline),
        suggestions=suggestions or None,
        selectionBehavior=plan.selection_behavior if suggestions else None,
        overrideReasons=override_reasons_for(decision.pathway),
        links=links_for(decision.pathway, knowledge),
    )


def build_response(
    decisions: Sequence[Decision], *, knowledge: Knowledge, settings: Settings, hook: str
) -> HookResponse:
    """One card per decision (or none when quiet), plus a systemAction carrying each decision."""
    cards: list[Card] = []
    actions = []
    for decision in decisions:
        # The order without empty values, usually the client's own: shared by the actions on it,
        # each of which changes only top-level elements of its own shallow copy, and the response
        # is only ever serialised.
        draft = pruned(decision.order.resource)
        card = build_card(decision, knowledge=knowledge, settings=settings, hook=hook, draft=draft)
        if card is not None:
            cards.append(card)
        actions.append(decision_action(decision, settings, draft))
    extension = None
    if settings.mirror_system_actions and actions:
        extension = {MIRROR_KEY: [a.to_json() for a in actions]}
    return HookResponse.model_construct(cards=cards, systemActions=actions or None, extension=extension)
