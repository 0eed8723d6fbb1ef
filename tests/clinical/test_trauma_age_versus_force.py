"""Issue 9 item 3: trauma weighed as the guideline says, 'consider age versus force'."""

from __future__ import annotations

from cds_service.rules.model import Modality, Pathway, RedFlagId, Region, SuspectedCondition
from tests.clinical.builders import (
    condition,
    decision_for,
    imaging_order,
    medication,
    patient,
    record,
    years_ago,
)

SAME_LEVEL_FALL = ("33036003", "Fall on same level")


def test_low_energy_fall_in_a_young_patient_with_no_other_flag_is_not_a_red_flag() -> None:
    decision = decision_for(record(condition(*SAME_LEVEL_FALL), who=patient(30)))
    assert RedFlagId.TRAUMA not in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_tripped_written_on_the_order_in_a_young_patient_is_not_trauma() -> None:
    order = imaging_order(reason="low back pain after she tripped on the stairs")
    decision = decision_for(record(who=patient(28)), order)
    assert RedFlagId.TRAUMA not in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_low_energy_fall_at_eighty_gets_xray_for_suspected_osteoporotic_fracture() -> None:
    decision = decision_for(
        record(condition(*SAME_LEVEL_FALL), who=patient(80)), imaging_order(Modality.XRAY)
    )
    assert decision.pathway == Pathway.XRAY_SUSPECTED_FRACTURE
    assert decision.suspicions[0].condition == SuspectedCondition.OSTEOPOROTIC_FRACTURE


def test_low_energy_fall_with_osteoporosis_gets_xray() -> None:
    rec = record(
        condition(*SAME_LEVEL_FALL),
        condition("64859006", "Osteoporosis", onset=years_ago(3)),
        who=patient(50),
    )
    assert decision_for(rec).pathway == Pathway.XRAY_SUSPECTED_FRACTURE


def test_low_energy_fall_on_current_steroids_gets_xray() -> None:
    steroid = medication("8638", "prednisolone", authored="2026-11-01")
    rec = record(condition(*SAME_LEVEL_FALL), steroid, who=patient(40))
    assert decision_for(rec).pathway == Pathway.XRAY_SUSPECTED_FRACTURE


def test_dangerous_mechanism_goes_to_the_emergency_department_at_any_age() -> None:
    order = imaging_order(reason="fell from a ladder, back pain")
    decision = decision_for(record(who=patient(30)), order)
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert decision.suspicions[0].condition == SuspectedCondition.UNSTABLE_FRACTURE


def test_neck_injury_at_seventy_from_a_low_energy_fall_goes_to_the_emergency_department() -> None:
    """Canadian C-spine rule: age 65 or over is a high-risk factor whatever the force."""
    order = imaging_order(Modality.XRAY, Region.CERVICAL)
    decision = decision_for(record(condition(*SAME_LEVEL_FALL), who=patient(70)), order)
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT


def test_neck_injury_with_pins_and_needles_in_the_arms_goes_to_the_emergency_department() -> None:
    order = imaging_order(Modality.XRAY, Region.CERVICAL, note="pins and needles in both arms since")
    decision = decision_for(record(condition(*SAME_LEVEL_FALL), who=patient(30)), order)
    assert RedFlagId.LIMB_PARAESTHESIA in decision.red_flag_ids
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT


def test_neck_injury_in_a_young_patient_without_high_risk_factor_is_not_the_emergency_department() -> None:
    order = imaging_order(Modality.XRAY, Region.CERVICAL)
    decision = decision_for(record(condition(*SAME_LEVEL_FALL), who=patient(30)), order)
    assert decision.pathway != Pathway.EMERGENCY_DEPARTMENT


def test_injury_of_unknown_force_still_counts_as_trauma() -> None:
    decision = decision_for(record(condition("417746004", "Traumatic injury"), who=patient(30)))
    assert RedFlagId.TRAUMA in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE
