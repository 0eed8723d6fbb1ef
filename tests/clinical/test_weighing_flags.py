"""Suspicion is proportional to the number of red flags; what cannot be read is said, never assumed."""

from __future__ import annotations

from cds_service.rules.model import Pathway, RedFlagId
from tests.clinical.builders import condition, days_ago, decision_for, observation, patient, record, years_ago


def test_simple_back_pain_without_red_flags_is_imaging_not_indicated():
    decision = decision_for(record(condition("279039007", "Low back pain", onset=days_ago(20))))
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED
    assert decision.red_flag_ids == ()


def test_night_pain_and_saddle_anaesthesia_are_asked_about_when_nothing_is_coded():
    decision = decision_for(record())
    asked = {q.id for q in decision.ask_about}
    assert {
        RedFlagId.SADDLE_ANAESTHESIA,
        RedFlagId.NON_MECHANICAL_OR_NIGHT_PAIN,
        RedFlagId.BLADDER_OR_BOWEL_DYSFUNCTION,
    } <= asked


def test_weight_loss_is_asked_about_when_no_weight_series_exists_and_not_when_one_does():
    assert RedFlagId.WEIGHT_LOSS in {q.id for q in decision_for(record()).ask_about}
    rec = record(observation("29463-7", 70.0, "kg", when=years_ago(0.5)), observation("29463-7", 69.5, "kg"))
    assert RedFlagId.WEIGHT_LOSS not in {q.id for q in decision_for(rec).ask_about}


def test_weight_loss_of_eight_percent_over_six_months_is_a_red_flag():
    rec = record(observation("29463-7", 75.0, "kg", when=years_ago(0.5)), observation("29463-7", 69.0, "kg"))
    decision = decision_for(rec)
    assert RedFlagId.WEIGHT_LOSS in decision.red_flag_ids
    assert "8.0%" in decision.red_flags[0].evidence[0].what


def test_weight_loss_of_three_percent_is_not_a_red_flag():
    rec = record(observation("29463-7", 75.0, "kg", when=years_ago(0.5)), observation("29463-7", 72.8, "kg"))
    assert RedFlagId.WEIGHT_LOSS not in decision_for(rec).red_flag_ids


def test_kyphosis_alone_is_a_weak_flag_and_imaging_is_not_indicated():
    decision = decision_for(record(condition("414564002", "Kyphosis deformity of spine", onset=years_ago(3))))
    assert RedFlagId.STRUCTURAL_DEFORMITY in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_kyphosis_in_a_new_presentation_at_65_is_two_flags_and_imaging_may_be_appropriate():
    rec = record(condition("298382003", "Scoliosis deformity of spine", onset=years_ago(3)), who=patient(65))
    decision = decision_for(rec)
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


def test_raised_esr_is_judged_against_the_age_adjusted_limit():
    # Limit for a 70-year-old woman: (70 + 10) / 2 = 40 mm/h.
    normal = record(observation("4537-7", 35, "mm/h"), who=patient(70, "female"))
    raised = record(observation("4537-7", 55, "mm/h"), who=patient(70, "female"))
    assert RedFlagId.RAISED_INFLAMMATORY_MARKERS not in decision_for(normal).red_flag_ids
    assert RedFlagId.RAISED_INFLAMMATORY_MARKERS in decision_for(raised).red_flag_ids


def test_unreadable_medications_are_reported_as_not_checked():
    decision = decision_for(record(unavailable=("medications",)))
    assert any("medications" in text and "could not be read" in text for text in decision.not_checked)


def test_unreadable_problem_list_is_reported_as_not_checked():
    decision = decision_for(record(unavailable=("conditions",)))
    assert any(text.startswith("conditions") for text in decision.not_checked)


def test_heart_rate_of_140_is_a_high_risk_sign_that_goes_to_the_emergency_department():
    """NICE NG51: a heart rate above 130 is a high-risk sign; with spinal pain, not an outpatient scan."""
    decision = decision_for(record(observation("8867-4", 140, "/min")))
    assert RedFlagId.SYSTEMICALLY_UNWELL in decision.red_flag_ids
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT


def test_thoracic_back_pain_active_for_a_year_is_persistent_thoracic_pain():
    rec = record(
        condition(
            "M54.6", "Pain in thoracic spine", system="http://hl7.org/fhir/sid/icd-10", onset=years_ago(1)
        )
    )
    decision = decision_for(rec)
    assert RedFlagId.THORACIC_PAIN in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED  # a single weak flag


def test_resolved_thoracic_back_pain_is_not_persistent():
    rec = record(
        condition(
            "M54.6", "Pain in thoracic spine", system="http://hl7.org/fhir/sid/icd-10", clinical="resolved"
        )
    )
    assert RedFlagId.THORACIC_PAIN not in decision_for(rec).red_flag_ids
