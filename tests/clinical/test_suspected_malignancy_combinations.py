"""Issue 9: flags that together point at cancer, without a cancer on record, are suspected malignancy."""

from __future__ import annotations

from cds_service.rules.model import Pathway, RedFlagId, SuspectedCondition, SuspicionLevel
from tests.clinical.builders import condition, decision_for, imaging_order, observation, patient, record


def weight_loss() -> tuple[dict, dict]:
    """Two weights seven months apart: 10% lost."""
    return observation("29463-7", 80, "kg", when="2026-04-01"), observation("29463-7", 72, "kg")


def test_new_presentation_at_sixty_with_weight_loss_and_thoracic_pain_gets_urgent_mri() -> None:
    rec = record(
        *weight_loss(), condition("3368006", "Dorsalgia", text="thoracic back pain"), who=patient(60)
    )
    decision = decision_for(rec)
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    first = decision.suspicions[0]
    assert (first.condition, first.level) == (SuspectedCondition.MALIGNANCY, SuspicionLevel.HIGH)
    assert {RedFlagId.WEIGHT_LOSS, RedFlagId.NEW_ONSET_OVER_55} <= set(first.flags)


def test_new_presentation_at_fifty_two_with_weight_loss_and_night_pain_gets_urgent_mri() -> None:
    """Age over 50 at a new presentation (NICE CKS, ACP 2007) counts although the guideline flag is 55."""
    order = imaging_order(reason="back pain, night pain")
    decision = decision_for(record(*weight_loss(), who=patient(52)), order)
    assert RedFlagId.NEW_ONSET_OVER_55 not in decision.red_flag_ids
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER


def test_cancer_pointing_combination_with_limb_weakness_goes_to_the_emergency_department() -> None:
    rec = record(*weight_loss(), condition("26544005", "Muscle weakness"), who=patient(60))
    order = imaging_order(reason="thoracic pain, night pain")
    decision = decision_for(rec, order)
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert decision.suspicions[0].condition == SuspectedCondition.MALIGNANCY


def test_weight_loss_and_age_alone_are_possible_not_suspected_malignancy() -> None:
    decision = decision_for(record(*weight_loss(), who=patient(60)))
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE
    malignancy = [s for s in decision.suspicions if s.condition == SuspectedCondition.MALIGNANCY]
    assert malignancy[0].level == SuspicionLevel.MODERATE


def test_thoracic_and_night_pain_in_a_young_patient_without_weight_loss_is_not_suspected_malignancy() -> None:
    order = imaging_order(reason="thoracic pain at night")
    decision = decision_for(record(who=patient(35)), order)
    assert decision.pathway != Pathway.URGENT_MRI_SUSPECTED_CANCER
    assert all(s.level != SuspicionLevel.HIGH for s in decision.suspicions)


def test_weight_loss_raises_both_malignancy_and_infection_suspicion() -> None:
    decision = decision_for(record(*weight_loss(), who=patient(40)))
    conditions = {s.condition for s in decision.suspicions}
    assert {SuspectedCondition.MALIGNANCY, SuspectedCondition.INFECTION} <= conditions
