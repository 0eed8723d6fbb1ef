"""NEW presentation under 20 or over 55: age at the order date, first back-pain record recent."""

from __future__ import annotations

from cds_service.rules.model import Pathway, RedFlagId
from tests.clinical.builders import (
    condition,
    days_ago,
    decision_for,
    imaging_order,
    patient,
    record,
    years_ago,
)


def test_56_year_old_with_back_pain_coded_for_a_decade_is_not_a_new_presentation():
    rec = record(condition("279039007", "Low back pain", onset=years_ago(10)), who=patient(56))
    decision = decision_for(rec)
    assert RedFlagId.NEW_ONSET_OVER_55 not in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_56_year_old_first_presentation_is_the_new_onset_over_55_flag_alone_not_enough_to_image():
    rec = record(condition("279039007", "Low back pain", onset=days_ago(10)), who=patient(56))
    decision = decision_for(rec)
    assert RedFlagId.NEW_ONSET_OVER_55 in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_first_presentation_at_60_with_night_pain_may_need_imaging():
    decision = decision_for(
        record(who=patient(60)), imaging_order(note="pain wakes her at night, night pain")
    )
    assert {RedFlagId.NEW_ONSET_OVER_55, RedFlagId.NON_MECHANICAL_OR_NIGHT_PAIN} <= set(decision.red_flag_ids)
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


def test_17_year_old_with_new_back_pain_is_the_new_onset_under_20_flag():
    decision = decision_for(record(who=patient(17)))
    assert RedFlagId.NEW_ONSET_UNDER_20 in decision.red_flag_ids


def test_40_year_old_first_presentation_has_no_age_flag():
    decision = decision_for(record(who=patient(40)))
    assert decision.red_flag_ids == ()


def test_age_is_taken_at_the_order_date():
    # 55 at the record's as-of date, but the order was authored two years later: 57, a new presentation.
    decision = decision_for(record(who=patient(55)), imaging_order(authored="2028-12-01"))
    assert RedFlagId.NEW_ONSET_OVER_55 in decision.red_flag_ids


def test_missing_birth_date_says_age_flags_were_not_checked():
    decision = decision_for(record(who=patient(None)))
    assert any("birth date" in text for text in decision.not_checked)


def test_60_year_old_whose_order_says_back_pain_for_3_months_is_not_a_new_presentation():
    decision = decision_for(record(who=patient(60)), imaging_order(reason="Low back pain for 3 months"))
    assert RedFlagId.NEW_ONSET_OVER_55 not in decision.red_flag_ids


def test_60_year_old_whose_order_says_2_weeks_of_back_pain_is_a_new_presentation():
    decision = decision_for(record(who=patient(60)), imaging_order(note="2 weeks of low back pain"))
    assert RedFlagId.NEW_ONSET_OVER_55 in decision.red_flag_ids


def test_recent_stated_onset_does_not_override_a_decade_of_coded_back_pain():
    rec = record(condition("279039007", "Low back pain", onset=years_ago(10)), who=patient(60))
    decision = decision_for(rec, imaging_order(note="worse for 2 weeks"))
    assert RedFlagId.NEW_ONSET_OVER_55 not in decision.red_flag_ids
