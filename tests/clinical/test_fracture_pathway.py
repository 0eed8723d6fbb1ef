"""Suspected osteoporotic vertebral fracture: an X-ray may help ('consider age versus force')."""

from __future__ import annotations

from cds_service.rules.model import Modality, Pathway, Rating, RedFlagId
from tests.clinical.builders import (
    condition,
    days_ago,
    decision_for,
    imaging_order,
    medication,
    patient,
    record,
    years_ago,
)


def test_osteoporosis_at_72_gets_xray_for_suspected_fracture():
    rec = record(condition("64859006", "Osteoporosis (disorder)", onset=years_ago(6)), who=patient(72))
    decision = decision_for(rec, imaging_order(Modality.XRAY))
    assert decision.pathway == Pathway.XRAY_SUSPECTED_FRACTURE
    assert decision.rating == Rating.APPROPRIATE
    assert RedFlagId.OSTEOPOROSIS in decision.red_flag_ids


def test_osteoporosis_at_50_is_suspected_osteoporotic_fracture_per_acr_variant_6():
    rec = record(condition("64859006", "Osteoporosis (disorder)", onset=years_ago(2)), who=patient(50))
    assert decision_for(rec).pathway == Pathway.XRAY_SUSPECTED_FRACTURE


def test_two_years_of_prednisolone_with_new_back_pain_is_suspected_osteoporotic_fracture():
    rec = record(medication("8638", "prednisolone", kind="MedicationStatement", authored=years_ago(2)))
    assert decision_for(rec).pathway == Pathway.XRAY_SUSPECTED_FRACTURE


def test_a_current_short_steroid_course_is_a_flag_but_not_the_fracture_pathway():
    rec = record(medication(None, "Prednisolone 30mg tablets", authored=days_ago(3), days=5))
    decision = decision_for(rec)
    assert RedFlagId.CORTICOSTEROID_USE in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


def test_a_fall_at_40_without_other_risk_factors_is_not_the_fracture_pathway():
    decision = decision_for(record(condition("1912002", "Fall"), who=patient(40)))
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


def test_a_fall_at_80_is_suspected_fracture_age_versus_force():
    decision = decision_for(record(condition("1912002", "Fall"), who=patient(80)))
    assert decision.pathway == Pathway.XRAY_SUSPECTED_FRACTURE


def test_fall_in_a_patient_on_long_term_prednisolone_gets_xray_for_suspected_fracture():
    rec = record(
        condition("1912002", "Fall"),
        medication(None, "Prednisolone 5mg tablets", kind="MedicationStatement", authored=years_ago(2)),
    )
    decision = decision_for(rec, imaging_order(Modality.XRAY))
    assert decision.pathway == Pathway.XRAY_SUSPECTED_FRACTURE
    assert {RedFlagId.TRAUMA, RedFlagId.CORTICOSTEROID_USE} <= set(decision.red_flag_ids)


def test_recent_vertebral_collapse_gets_xray_for_suspected_fracture():
    rec = record(condition("M48.5", "Collapsed vertebra", system="http://hl7.org/fhir/sid/icd-10"))
    assert decision_for(rec).pathway == Pathway.XRAY_SUSPECTED_FRACTURE


def test_forearm_fracture_years_ago_is_not_recent_trauma():
    rec = record(condition("417746004", "Traumatic injury", clinical="resolved", onset=years_ago(5)))
    decision = decision_for(rec)
    assert RedFlagId.TRAUMA not in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_mri_ordered_for_suspected_osteoporotic_fracture_is_rated_by_acr_variant_6():
    rec = record(condition("64859006", "Osteoporosis (disorder)"), condition("1912002", "Fall"))
    decision = decision_for(rec, imaging_order(Modality.MRI))
    assert decision.pathway == Pathway.XRAY_SUSPECTED_FRACTURE
    assert decision.rating == Rating.APPROPRIATE
