"""Sciatica with lower-limb neurology and inflammatory back pain go through the specialist pathway."""

from __future__ import annotations

from cds_service.rules.model import Pathway, Rating, RedFlagId
from tests.clinical.builders import condition, decision_for, imaging_order, record


def test_ankylosing_spondylitis_goes_to_the_specialist_pathway():
    decision = decision_for(record(condition("9631008", "Ankylosing spondylitis", onset="2018-05-01")))
    assert decision.pathway == Pathway.SPECIALIST_PATHWAY
    assert decision.rating == Rating.NOT_APPROPRIATE
    assert RedFlagId.INFLAMMATORY_BACK_PAIN in decision.red_flag_ids


def test_sciatica_with_leg_weakness_goes_to_the_specialist_pathway():
    rec = record(condition("23056005", "Sciatica (disorder)"), condition("26544005", "Muscle weakness"))
    decision = decision_for(rec)
    assert decision.pathway == Pathway.SPECIALIST_PATHWAY
    assert RedFlagId.SCIATICA_WITH_NEUROLOGY in decision.red_flag_ids


def test_sciatica_stated_with_reduced_ankle_reflex_goes_to_the_specialist_pathway():
    decision = decision_for(record(), imaging_order(reason="L5 radiculopathy"))
    assert decision.pathway == Pathway.SPECIALIST_PATHWAY


def test_sciatica_without_neurology_is_not_a_red_flag():
    decision = decision_for(record(condition("23056005", "Sciatica (disorder)")))
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED
    assert decision.red_flag_ids == ()


def test_refuted_ankylosing_spondylitis_is_not_inflammatory_back_pain():
    rec = record(condition("9631008", "Ankylosing spondylitis", verification="refuted"))
    assert decision_for(rec).pathway == Pathway.IMAGING_NOT_INDICATED
