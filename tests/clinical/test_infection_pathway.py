"""Suspected spinal infection: MRI directly plus WCC and CRP (emergency department if unwell)."""

from __future__ import annotations

from cds_service.rules.model import Modality, Pathway, Rating, RedFlagId
from tests.clinical.builders import (
    condition,
    days_ago,
    decision_for,
    imaging_order,
    medication,
    observation,
    procedure,
    record,
    years_ago,
)


def test_methotrexate_plus_fever_gets_mri_with_infection_bloods():
    rec = record(
        medication("105586", "Methotrexate 10 MG Oral Tablet", authored=years_ago(1)),
        observation("8310-5", 38.4, "Cel"),
    )
    decision = decision_for(rec)
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    # Issue 9 item 7: the fever is a fever, not 'systemically unwell'.
    assert {RedFlagId.IMMUNOSUPPRESSION, RedFlagId.FEVER} <= set(decision.red_flag_ids)
    assert RedFlagId.SYSTEMICALLY_UNWELL not in decision.red_flag_ids
    assert decision.rating == Rating.APPROPRIATE


def test_methotrexate_without_fever_is_not_the_infection_pathway():
    rec = record(medication("105586", "Methotrexate 10 MG Oral Tablet"), observation("8310-5", 36.9, "Cel"))
    decision = decision_for(rec)
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


def test_injecting_drug_user_with_raised_crp_gets_infection_pathway_and_recent_bloods_are_shown():
    rec = record(
        condition("228388006", "Intravenous drug user", onset=years_ago(4)),
        observation("1988-5", 64, "mg/L", when=days_ago(2)),
        observation("6690-2", 14.2, "10*3/uL", when=days_ago(2)),
    )
    decision = decision_for(rec)
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    assert RedFlagId.RAISED_INFLAMMATORY_MARKERS in decision.red_flag_ids
    assert len(decision.recent_infection_bloods) == 2
    assert any("CRP 64" in e.what for e in decision.recent_infection_bloods)


def test_crp_reported_in_nmol_per_litre_is_converted_before_comparison():
    # 50 nmol/L is about 5 mg/L: normal, so no raised-marker flag.
    rec = record(
        condition("86406008", "Human immunodeficiency virus infection"), observation("76485-2", 50, "nmol/L")
    )
    decision = decision_for(rec)
    assert RedFlagId.RAISED_INFLAMMATORY_MARKERS not in decision.red_flag_ids


def test_coded_discitis_gets_mri_with_infection_bloods():
    decision = decision_for(record(condition("M46.4", "Discitis", system="http://hl7.org/fhir/sid/icd-10")))
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    assert RedFlagId.SPINAL_INFECTION in decision.red_flag_ids


def test_xray_for_suspected_discitis_is_the_wrong_test():
    decision = decision_for(record(), imaging_order(Modality.XRAY, reason="?discitis"))
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    assert decision.rating == Rating.NOT_APPROPRIATE


def test_fever_in_fahrenheit_counts_as_fever():
    rec = record(medication(None, "Adalimumab 40mg injection"), observation("8310-5", 101.5, "[degF]"))
    assert decision_for(rec).pathway == Pathway.MRI_WITH_INFECTION_BLOODS


def test_fever_last_month_is_not_a_current_fever():
    rec = record(
        medication("105586", "Methotrexate 10 MG Oral Tablet"),
        observation("8310-5", 38.9, "Cel", when=days_ago(30)),
    )
    assert decision_for(rec).pathway != Pathway.MRI_WITH_INFECTION_BLOODS


def test_old_crp_results_are_not_offered_as_recent_bloods():
    rec = record(
        condition("4556007", "Discitis"),
        observation("1988-5", 80, "mg/L", when=days_ago(40)),
    )
    decision = decision_for(rec)
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    assert decision.recent_infection_bloods == ()


def test_fever_after_recent_spinal_surgery_gets_infection_pathway():
    rec = record(procedure("387731002", "Laminectomy", when=days_ago(60)), observation("8310-5", 38.5, "Cel"))
    assert decision_for(rec).pathway == Pathway.MRI_WITH_INFECTION_BLOODS
