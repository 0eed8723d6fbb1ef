"""Issue 9 item 4: persistent or post-surgical radicular pain goes to the spinal interface / MSK service."""

from __future__ import annotations

from cds_service.cards import build_card
from cds_service.knowledge import load_knowledge
from cds_service.rules.model import Pathway, RedFlagId
from cds_service.settings import Settings
from tests.clinical.builders import (
    condition,
    days_ago,
    decision_for,
    imaging_order,
    procedure,
    record,
    years_ago,
)

SCIATICA = ("23056005", "Sciatica")


def test_sciatica_for_ten_weeks_gets_the_specialist_pathway() -> None:
    decision = decision_for(record(condition(*SCIATICA, onset=days_ago(70))))
    assert RedFlagId.PERSISTENT_RADICULAR_PAIN in decision.red_flag_ids
    assert decision.pathway == Pathway.SPECIALIST_PATHWAY


def test_sciatica_for_three_weeks_is_not_yet_persistent() -> None:
    decision = decision_for(record(condition(*SCIATICA, onset=days_ago(21))))
    assert RedFlagId.PERSISTENT_RADICULAR_PAIN not in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_sciatica_stated_as_lasting_eight_weeks_despite_physio_gets_the_specialist_pathway() -> None:
    order = imaging_order(reason="sciatica for 8 weeks, not improving despite physio")
    decision = decision_for(record(), order)
    assert decision.pathway == Pathway.SPECIALIST_PATHWAY
    assert RedFlagId.FAILURE_TO_IMPROVE in decision.red_flag_ids


def test_new_leg_pain_after_spinal_surgery_gets_the_specialist_pathway() -> None:
    rec = record(
        procedure("387731002", "Laminectomy", when=years_ago(3)), condition(*SCIATICA, onset=days_ago(14))
    )
    decision = decision_for(rec)
    assert RedFlagId.POST_SURGICAL_LEG_PAIN in decision.red_flag_ids
    assert decision.pathway == Pathway.SPECIALIST_PATHWAY


def test_sciatica_that_began_before_the_operation_is_not_post_surgical() -> None:
    rec = record(
        procedure("387731002", "Laminectomy", when=years_ago(3)), condition(*SCIATICA, onset=days_ago(20))
    )
    rec_before = record(
        procedure("387731002", "Laminectomy", when=days_ago(10)), condition(*SCIATICA, onset=days_ago(20))
    )
    assert RedFlagId.POST_SURGICAL_LEG_PAIN in decision_for(rec).red_flag_ids
    assert RedFlagId.POST_SURGICAL_LEG_PAIN not in decision_for(rec_before).red_flag_ids


def test_persistent_radicular_pain_card_names_the_spinal_interface_service() -> None:
    decision = decision_for(record(condition(*SCIATICA, onset=days_ago(70))))
    card = build_card(
        decision, knowledge=load_knowledge(), settings=Settings(auth="off"), hook="order-select"
    )
    assert card is not None
    assert "spinal interface / MSK service" in card.summary
    assert "spinal interface / MSK service" in card.detail
