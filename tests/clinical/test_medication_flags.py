"""Steroids count when systemic and current or long-term; immunosuppressants when current or recent."""

from __future__ import annotations

from cds_service.rules.model import Pathway, RedFlagId
from tests.clinical.builders import (
    condition,
    days_ago,
    decision_for,
    medication,
    procedure,
    record,
    years_ago,
)


def test_topical_hydrocortisone_is_not_a_steroid_flag():
    decision = decision_for(record(medication("106258", "Hydrocortisone 10 MG/ML Topical Cream")))
    assert RedFlagId.CORTICOSTEROID_USE not in decision.red_flag_ids


def test_hydrocortisone_cream_known_only_by_text_is_not_a_steroid_flag():
    decision = decision_for(record(medication(None, "Hydrocortisone 1% cream, apply twice daily")))
    assert RedFlagId.CORTICOSTEROID_USE not in decision.red_flag_ids


def test_inhaled_fluticasone_is_not_a_steroid_flag():
    rec = record(
        medication("895994", "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler")
    )
    assert RedFlagId.CORTICOSTEROID_USE not in decision_for(rec).red_flag_ids


def test_five_day_prednisolone_course_years_ago_is_not_a_steroid_flag():
    rec = record(
        medication(None, "Prednisolone 5mg tablets", status="completed", authored=years_ago(4), days=5)
    )
    decision = decision_for(rec)
    assert RedFlagId.CORTICOSTEROID_USE not in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_two_years_of_daily_prednisolone_is_a_steroid_flag():
    rec = record(medication("8638", "prednisolone", kind="MedicationStatement", authored=years_ago(2)))
    decision = decision_for(rec)
    assert RedFlagId.CORTICOSTEROID_USE in decision.red_flag_ids
    assert decision.pathway != Pathway.IMAGING_NOT_INDICATED


def test_prednisolone_stopped_last_month_after_two_years_is_long_term_use():
    rec = record(
        medication(
            None,
            "Prednisolone 5mg tablets",
            kind="MedicationStatement",
            status="completed",
            authored=years_ago(2),
            end=days_ago(30),
        )
    )
    assert RedFlagId.CORTICOSTEROID_USE in decision_for(rec).red_flag_ids


def test_old_stopped_prednisone_prescription_is_not_current_steroid_use():
    rec = record(medication("312617", "predniSONE 5 MG Oral Tablet", status="stopped", authored="2019-05-18"))
    assert RedFlagId.CORTICOSTEROID_USE not in decision_for(rec).red_flag_ids


def test_prednisolone_being_prescribed_in_the_same_session_is_a_steroid_flag():
    draft = medication(None, "Prednisolone 40mg tablets", status="draft", authored=days_ago(0))
    decision = decision_for(record(drafts=(draft,)))
    assert RedFlagId.CORTICOSTEROID_USE in decision.red_flag_ids
    assert decision.red_flags[0].evidence[0].source == "draft order"


def test_current_methotrexate_is_immunosuppression():
    rec = record(medication("105586", "Methotrexate 10 MG Oral Tablet", authored=years_ago(3)))
    assert RedFlagId.IMMUNOSUPPRESSION in decision_for(rec).red_flag_ids


def test_methotrexate_stopped_three_years_ago_is_not_immunosuppression():
    rec = record(
        medication("105586", "Methotrexate 10 MG Oral Tablet", status="stopped", authored=years_ago(3))
    )
    assert RedFlagId.IMMUNOSUPPRESSION not in decision_for(rec).red_flag_ids


def test_entered_in_error_methotrexate_is_not_immunosuppression():
    rec = record(medication("105586", "Methotrexate 10 MG Oral Tablet", status="entered-in-error"))
    assert RedFlagId.IMMUNOSUPPRESSION not in decision_for(rec).red_flag_ids


def test_kidney_transplant_implies_immunosuppression():
    decision = decision_for(record(procedure("70536003", "Transplant of kidney", when=years_ago(8))))
    assert RedFlagId.IMMUNOSUPPRESSION in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


def test_hiv_infection_is_a_red_flag():
    decision = decision_for(record(condition("B20", "HIV disease", system="http://hl7.org/fhir/sid/icd-10")))
    assert RedFlagId.HIV in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


def test_prednisolone_as_a_contained_medication_is_read():
    res = medication(None, "", kind="MedicationRequest", authored=years_ago(1))
    res.pop("medicationCodeableConcept")
    res["contained"] = [
        {"resourceType": "Medication", "id": "med", "code": {"text": "Prednisolone 5mg tablets"}}
    ]
    res["medicationReference"] = {"reference": "#med"}
    assert RedFlagId.CORTICOSTEROID_USE in decision_for(record(res)).red_flag_ids
