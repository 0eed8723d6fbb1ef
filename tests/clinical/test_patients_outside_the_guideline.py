"""Patients the guideline's evidence does not cover still get a decision, and the card says so."""

from __future__ import annotations

from cds_service.rules.model import RedFlagId
from tests.clinical.builders import decision_for, patient, record


def test_a_twelve_year_old_is_told_the_guideline_evidence_is_for_adults():
    decision = decision_for(record(who=patient(12)))
    assert "the guideline's evidence is for adults; the patient is 12" in decision.not_checked
    assert RedFlagId.NEW_ONSET_UNDER_20 in decision.red_flag_ids


def test_an_adult_gets_no_note_about_the_guideline_age_range():
    decision = decision_for(record(who=patient(30)))
    assert not any("for adults" in gap for gap in decision.not_checked)
