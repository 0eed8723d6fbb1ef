"""What the GP says on the order (reason, notes, referenced conditions) and drafts in the same session."""

from __future__ import annotations

from cds_service.rules.model import Pathway, RedFlagId
from tests.clinical.builders import (
    SNOMED,
    condition,
    days_ago,
    decision_for,
    imaging_order,
    medication,
    record,
)


def test_order_reason_pointing_at_a_problem_list_cancer_gets_urgent_mri():
    cancer = condition(
        "363478007", "Malignant tumor of thyroid gland", clinical="resolved", onset="2010-01-01"
    )
    order = imaging_order(reason_reference=f"Condition/{cancer['id']}")
    decision = decision_for(record(cancer), order)
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    assert any(e.source == "order reason" for f in decision.red_flags for e in f.evidence)


def test_order_reason_coded_as_cauda_equina_goes_to_the_emergency_department():
    order = imaging_order(reason_codes=((SNOMED, "192970008", "Cauda equina syndrome"),))
    assert decision_for(record(), order).pathway == Pathway.EMERGENCY_DEPARTMENT


def test_cauda_equina_not_excluded_is_a_suspicion_not_a_negation():
    decision = decision_for(record(), imaging_order(note="Cauda equina not excluded; please image"))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT


def test_no_red_flags_written_on_the_order_adds_nothing():
    decision = decision_for(
        record(), imaging_order(note="Mechanical LBP 3 weeks. No red flags. Patient anxious.")
    )
    assert decision.red_flag_ids == ()
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_negation_stops_at_but():
    decision = decision_for(record(), imaging_order(note="No trauma but new urinary incontinence"))
    assert RedFlagId.TRAUMA not in decision.red_flag_ids
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT


def test_topical_steroid_drafted_in_the_same_session_is_not_a_steroid_flag():
    draft = medication(None, "Betamethasone valerate 0.1% cream", status="draft", authored=days_ago(0))
    assert RedFlagId.CORTICOSTEROID_USE not in decision_for(record(drafts=(draft,))).red_flag_ids


def test_order_note_saying_on_long_term_prednisolone_is_a_steroid_flag():
    decision = decision_for(record(), imaging_order(note="On prednisolone for PMR"))
    assert RedFlagId.CORTICOSTEROID_USE in decision.red_flag_ids
