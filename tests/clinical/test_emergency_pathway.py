"""Emergency features send the patient to the emergency department, whatever was ordered."""

from __future__ import annotations

from cds_service.rules.model import Modality, Pathway, Rating, RedFlagId, Region
from tests.clinical.builders import (
    ICD10,
    condition,
    days_ago,
    decision_for,
    imaging_order,
    observation,
    patient,
    record,
    text_condition,
)


def test_coded_cauda_equina_syndrome_goes_to_the_emergency_department():
    decision = decision_for(record(condition("192970008", "Cauda equina syndrome")))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert decision.rating == Rating.NOT_APPROPRIATE
    assert RedFlagId.BLADDER_OR_BOWEL_DYSFUNCTION in decision.red_flag_ids
    evidence = decision.red_flags[0].evidence[0]
    assert evidence.reference and evidence.reference.startswith("Condition/")
    assert "192970008" in evidence.what


def test_cauda_equina_coded_in_icd10_goes_to_the_emergency_department():
    decision = decision_for(record(condition("G83.4", "Cauda equina syndrome", system=ICD10)))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT


def test_entered_in_error_cauda_equina_is_not_a_flag():
    rec = record(condition("192970008", "Cauda equina syndrome", verification="entered-in-error"))
    decision = decision_for(rec)
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED
    assert RedFlagId.BLADDER_OR_BOWEL_DYSFUNCTION not in decision.red_flag_ids


def test_gp_writing_suspected_cauda_equina_on_the_order_goes_to_the_emergency_department():
    decision = decision_for(record(), imaging_order(reason="Suspected cauda equina"))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert decision.red_flags[0].evidence[0].source == "order reason"


def test_saddle_anaesthesia_in_the_order_note_goes_to_the_emergency_department():
    decision = decision_for(record(), imaging_order(note="Back pain 3 days, now saddle anaesthesia."))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert RedFlagId.SADDLE_ANAESTHESIA in decision.red_flag_ids


def test_denied_saddle_anaesthesia_and_bladder_symptoms_are_not_flags():
    order = imaging_order(note="No saddle anaesthesia or bladder symptoms. Denies weakness.")
    decision = decision_for(record(), order)
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED
    assert decision.red_flag_ids == ()


def test_new_urinary_retention_goes_to_the_emergency_department():
    decision = decision_for(record(condition("267064002", "Retention of urine", onset=None)))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT


def test_urinary_incontinence_coded_years_ago_is_not_a_current_cauda_equina_feature():
    rec = record(condition("165232002", "Urinary incontinence", onset="2015-03-01"))
    assert decision_for(rec).pathway == Pathway.IMAGING_NOT_INDICATED


def test_progressive_leg_weakness_goes_to_the_emergency_department():
    decision = decision_for(record(), imaging_order(reason="progressive weakness of both legs"))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert RedFlagId.PROGRESSIVE_NEUROLOGY in decision.red_flag_ids


def test_true_foot_drop_goes_to_the_emergency_department():
    decision = decision_for(record(condition("6077001", "Foot drop")))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert RedFlagId.LIMB_WEAKNESS in decision.red_flag_ids


def test_breast_cancer_with_new_leg_weakness_is_suspected_mscc_for_the_emergency_department():
    rec = record(
        condition("254837009", "Malignant neoplasm of breast", clinical="resolved", onset="2016-01-01"),
        condition("26544005", "Muscle weakness"),
    )
    decision = decision_for(rec)
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert decision.extras["rule"] == "suspected-mscc-with-neurology"


def test_immunosuppressed_patient_with_fever_and_low_blood_pressure_goes_to_the_emergency_department():
    rec = record(
        condition("234532001", "Immunodeficiency disorder", onset="2019-01-01"),
        observation("8310-5", 39.1, "Cel"),
        observation("8480-6", 84, "mm[Hg]"),
    )
    decision = decision_for(rec)
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert decision.extras["rule"] == "spinal-infection-systemically-unwell"


def test_high_speed_collision_is_significant_trauma_for_emergency_ct():
    decision = decision_for(
        record(), imaging_order(Modality.XRAY, Region.CERVICAL, reason="neck pain after high-speed RTC")
    )
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert RedFlagId.TRAUMA in decision.red_flag_ids


def test_neck_injury_at_70_with_a_cervical_xray_order_goes_to_the_emergency_department():
    rec = record(condition("39848009", "Whiplash injury to neck", onset=None), who=patient(70))
    decision = decision_for(rec, imaging_order(Modality.XRAY, Region.CERVICAL))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT


def test_neck_injury_at_40_is_trauma_but_not_an_emergency():
    rec = record(condition("39848009", "Whiplash injury to neck"), who=patient(40))
    decision = decision_for(rec, imaging_order(Modality.XRAY, Region.CERVICAL))
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE
    assert RedFlagId.TRAUMA in decision.red_flag_ids


def test_cauda_equina_written_only_as_problem_text_is_read():
    decision = decision_for(record(text_condition("Cauda equina syndrome ? - awaiting MRI")))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT


def test_retention_without_a_status_but_abated_last_month_is_not_current():
    res = condition("267064002", "Retention of urine", clinical=None, onset=days_ago(60))
    res["abatementDateTime"] = days_ago(30)
    assert decision_for(record(res)).pathway == Pathway.IMAGING_NOT_INDICATED
