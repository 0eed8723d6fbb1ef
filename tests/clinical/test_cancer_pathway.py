"""Suspected spinal malignancy: MRI directly, stating suspected cancer; X-ray cannot exclude metastases."""

from __future__ import annotations

from cds_service.rules.model import Modality, Pathway, Rating, RedFlagId, Region
from tests.clinical.builders import (
    ICD10,
    condition,
    decision_for,
    imaging_order,
    observation,
    patient,
    record,
    years_ago,
)


def test_resolved_breast_cancer_with_new_thoracic_pain_gets_urgent_mri():
    rec = record(
        condition("254837009", "Malignant neoplasm of breast", clinical="resolved", onset=years_ago(9)),
        condition("M54.6", "Pain in thoracic spine", system=ICD10),
        who=patient(58),
    )
    decision = decision_for(rec, imaging_order(Modality.MRI, Region.THORACIC))
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    assert decision.rating == Rating.APPROPRIATE
    assert {RedFlagId.HISTORY_OF_CANCER, RedFlagId.THORACIC_PAIN} <= set(decision.red_flag_ids)


def test_refuted_prostate_cancer_is_not_a_flag():
    rec = record(
        condition("399068003", "Malignant tumor of prostate", verification="refuted"), who=patient(50, "male")
    )
    decision = decision_for(rec)
    assert RedFlagId.HISTORY_OF_CANCER not in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_basal_cell_carcinoma_is_not_a_cancer_red_flag():
    rec = record(
        condition("254701007", "Basal cell carcinoma of skin"),
        condition("C44.3", "Basal cell carcinoma of skin of face", system=ICD10),
    )
    decision = decision_for(rec)
    assert RedFlagId.HISTORY_OF_CANCER not in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_xray_ordered_for_suspected_metastases_is_the_wrong_test_urgent_mri_instead():
    decision = decision_for(record(), imaging_order(Modality.XRAY, reason="?spinal metastases"))
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    assert decision.rating == Rating.NOT_APPROPRIATE
    assert "X-ray cannot exclude" in decision.rationale


def test_xray_for_a_patient_with_lung_cancer_history_is_the_wrong_test():
    rec = record(condition("254637007", "Non-small cell lung cancer (disorder)", onset=years_ago(2)))
    decision = decision_for(rec, imaging_order(Modality.XRAY))
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    assert decision.rating == Rating.NOT_APPROPRIATE


def test_metastatic_prostate_cancer_gets_urgent_mri():
    rec = record(
        condition("314994000", "Metastasis from malignant tumor of prostate (disorder)"),
        who=patient(70, "male"),
    )
    decision = decision_for(rec)
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    assert decision.suspicions[0].rule == "metastatic-disease"


def test_secondary_bone_deposits_coded_in_icd10_subcode_gets_urgent_mri():
    rec = record(
        condition(
            "C79.51", "Secondary malignant neoplasm of bone", system="http://hl7.org/fhir/sid/icd-10-cm"
        )
    )
    assert decision_for(rec).pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER


def test_gp_noting_known_prostate_cancer_with_new_back_pain_gets_urgent_mri():
    decision = decision_for(record(), imaging_order(note="Known prostate cancer, new back pain"))
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    assert RedFlagId.HISTORY_OF_CANCER in decision.red_flag_ids


def test_colon_cancer_alone_raises_suspicion_but_is_not_the_cancer_pathway():
    rec = record(
        condition("363406005", "Malignant neoplasm of colon", clinical="remission", onset=years_ago(5))
    )
    decision = decision_for(rec)
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE
    assert RedFlagId.HISTORY_OF_CANCER in decision.red_flag_ids


def test_colon_cancer_with_measured_weight_loss_gets_urgent_mri():
    rec = record(
        condition("363406005", "Malignant neoplasm of colon", onset=years_ago(3)),
        observation("29463-7", 80.0, "kg", when=years_ago(0.5)),
        observation("29463-7", 72.0, "kg", when=years_ago(0.01)),
    )
    decision = decision_for(rec)
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    assert RedFlagId.WEIGHT_LOSS in decision.red_flag_ids


def test_cancer_diagnosed_after_the_order_date_does_not_count():
    rec = record(condition("254837009", "Malignant neoplasm of breast", onset="2030-01-01"))
    assert RedFlagId.HISTORY_OF_CANCER not in decision_for(rec).red_flag_ids
