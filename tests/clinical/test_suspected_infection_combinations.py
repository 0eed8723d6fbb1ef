"""Issue 9: an infection risk factor with a constitutional symptom or fever is suspected spinal infection."""

from __future__ import annotations

from cds_service.rules.model import Pathway, RedFlagId, SuspectedCondition, SuspicionLevel
from tests.clinical.builders import (
    condition,
    decision_for,
    imaging_order,
    medication,
    observation,
    procedure,
    record,
    years_ago,
)

HIV = ("86406008", "Human immunodeficiency virus infection")


def test_hiv_with_night_sweats_gets_mri_with_infection_bloods() -> None:
    rec = record(condition(*HIV, onset=years_ago(5)), condition("42984000", "Night sweats"))
    decision = decision_for(rec)
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    first = decision.suspicions[0]
    assert (first.condition, first.level) == (SuspectedCondition.INFECTION, SuspicionLevel.HIGH)
    assert set(first.flags) == {RedFlagId.HIV, RedFlagId.NIGHT_SWEATS}


def test_current_injecting_drug_use_with_weight_loss_gets_mri_with_infection_bloods() -> None:
    order = imaging_order(note="IVDU, unexplained weight loss")
    assert decision_for(record(), order).pathway == Pathway.MRI_WITH_INFECTION_BLOODS


def test_injecting_drug_use_that_ended_twenty_years_ago_is_not_a_red_flag() -> None:
    past = condition("228388006", "Intravenous drug user", clinical="resolved", onset=years_ago(25))
    past["abatementDateTime"] = years_ago(20)
    decision = decision_for(record(past, condition("42984000", "Night sweats")))
    assert RedFlagId.IV_DRUG_USE not in decision.red_flag_ids
    assert decision.pathway != Pathway.MRI_WITH_INFECTION_BLOODS


def test_previously_injecting_drug_user_recorded_long_ago_is_not_current_use() -> None:
    decision = decision_for(
        record(condition("416479009", "Previously injecting drug user", onset=years_ago(15)))
    )
    assert RedFlagId.IV_DRUG_USE not in decision.red_flag_ids


def test_ex_ivdu_written_on_the_order_is_not_current_use() -> None:
    decision = decision_for(record(), imaging_order(note="ex-IVDU, back pain"))
    assert RedFlagId.IV_DRUG_USE not in decision.red_flag_ids


def test_long_term_steroids_with_unwell_patient_gets_suspected_infection() -> None:
    steroid = medication("8638", "prednisolone", authored=years_ago(1))
    decision = decision_for(record(steroid), imaging_order(note="feels unwell"))
    assert SuspectedCondition.INFECTION in {s.condition for s in decision.suspicions}
    infection = next(s for s in decision.suspicions if s.condition == SuspectedCondition.INFECTION)
    assert infection.level == SuspicionLevel.HIGH


def test_recent_urinary_tract_infection_with_weight_loss_gets_suspected_infection() -> None:
    rec = record(condition("68566005", "Urinary tract infectious disease", clinical="resolved"))
    decision = decision_for(rec, imaging_order(note="weight loss"))
    assert RedFlagId.RECENT_INFECTION in decision.red_flag_ids
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS


def test_recent_spinal_surgery_with_night_sweats_gets_suspected_infection() -> None:
    rec = record(
        procedure("387731002", "Laminectomy", when="2026-09-01"), condition("42984000", "Night sweats")
    )
    decision = decision_for(rec)
    assert RedFlagId.RECENT_SPINAL_PROCEDURE in decision.red_flag_ids
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS


def test_diabetes_alone_is_context_not_a_red_flag() -> None:
    decision = decision_for(record(condition("44054006", "Type 2 diabetes mellitus", onset=years_ago(8))))
    assert RedFlagId.DIABETES in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_diabetes_with_night_sweats_is_possible_infection_only() -> None:
    rec = record(
        condition("44054006", "Type 2 diabetes mellitus", onset=years_ago(8)),
        condition("42984000", "Night sweats"),
    )
    decision = decision_for(rec)
    infection = next(s for s in decision.suspicions if s.condition == SuspectedCondition.INFECTION)
    assert infection.level == SuspicionLevel.MODERATE
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


def test_fever_with_a_high_risk_sign_goes_to_the_emergency_department() -> None:
    rec = record(observation("8310-5", 38.9, "Cel"), observation("8867-4", 135, "/min"))
    decision = decision_for(rec)
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert decision.suspicions[0].condition == SuspectedCondition.INFECTION
