"""Issue 9 items 2 and 7: the card names the suspicion first; emergency cards are short; fever is fever."""

from __future__ import annotations

from cds_service.cards import build_card
from cds_service.knowledge import load_knowledge
from cds_service.rules.model import Decision, Pathway
from cds_service.settings import Settings
from tests.clinical.builders import (
    condition,
    decision_for,
    imaging_order,
    medication,
    observation,
    record,
    years_ago,
)


def card_of(decision: Decision):
    card = build_card(
        decision,
        knowledge=load_knowledge(),
        settings=Settings(auth="off", quiet_when_supported=False),
        hook="order-select",
    )
    assert card is not None
    return card


def test_cauda_equina_card_is_short_and_asks_no_unrelated_questions() -> None:
    decision = decision_for(record(condition("267064002", "Retention of urine")))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert decision.ask_about == ()
    card = card_of(decision)
    assert card.summary.startswith("Suspected cauda equina syndrome or spinal cord compression:")
    assert "Ask about" not in card.detail
    assert "night" not in card.detail.lower()


def test_a_routine_card_still_asks_the_red_flag_questions() -> None:
    decision = decision_for(record())
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED
    assert "Ask about" in card_of(decision).detail


def test_methotrexate_and_fever_is_labelled_fever_not_systemically_unwell() -> None:
    """Sample 13: a fever is a fever; 'systemically unwell' is an NG51 sign or the GP's word."""
    rec = record(
        medication("105586", "Methotrexate 10 MG Oral Tablet", authored=years_ago(1)),
        observation("8310-5", 38.4, "Cel"),
    )
    card = card_of(decision_for(rec))
    assert "**Fever**" in card.detail
    assert "Systemically unwell" not in card.detail
    assert card.summary.startswith("Suspected spinal infection")


def test_a_stated_systemically_unwell_patient_is_still_labelled_systemically_unwell() -> None:
    order = imaging_order(note="febrile and systemically unwell")
    card = card_of(decision_for(record(), order))
    assert "**Systemically unwell**" in card.detail
    assert "**Fever**" in card.detail


def test_the_card_lists_what_the_red_flags_point_at() -> None:
    rec = record(
        condition("86406008", "Human immunodeficiency virus infection", onset=years_ago(4)),
        condition("42984000", "Night sweats"),
    )
    card = card_of(decision_for(rec))
    assert "What the red flags point at" in card.detail
    assert "Suspected spinal infection: HIV, Night sweats" in card.detail
