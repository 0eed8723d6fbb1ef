"""Second clinical review: what makes a spinal infection "suspected", when unwell means the
emergency department, and a record that says the patient has died.

Each expected answer was decided from shared/guideline and reference/evidence.md before running the
engine; the reasoning is in pathway-rules.json (condition `infection-suspected`, rule
`systemically-unwell-high-risk-sign`) and in the docstrings.
"""

from __future__ import annotations

import pytest

from cds_service.rules.model import Modality, Pathway, Rating, RedFlagId, Region
from tests.clinical.builders import (
    condition,
    days_ago,
    decision_for,
    imaging_order,
    observation,
    patient,
    record,
)


def test_back_pain_with_a_temperature_of_38_5_yesterday_books_mri_with_wcc_and_crp() -> None:
    """Guideline: 'For suspected spinal infection, book MRI directly and perform WCC and CRP'.
    A febrile back is suspected infection until the bloods and MRI say otherwise."""
    decision = decision_for(record(observation("8310-5", 38.5, "Cel")))
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    assert decision.rating == Rating.APPROPRIATE


def test_fever_stated_on_the_order_books_mri_with_wcc_and_crp() -> None:
    decision = decision_for(record(), imaging_order(note="low back pain and fever for 3 days"))
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS


def test_febrile_back_pain_with_an_xray_ordered_is_told_the_xray_cannot_exclude_infection() -> None:
    decision = decision_for(record(observation("8310-5", 38.9, "Cel")), imaging_order(Modality.XRAY))
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    assert decision.rating == Rating.NOT_APPROPRIATE
    assert "cannot exclude" in decision.rationale


def test_a_normal_temperature_is_not_suspected_infection() -> None:
    decision = decision_for(record(observation("8310-5", 37.4, "Cel")))
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_crp_of_85_with_back_pain_and_no_other_flag_books_mri_with_infection_bloods() -> None:
    """A raised CRP with spinal pain needs MRI (infection or malignancy), never a plain film."""
    decision = decision_for(record(observation("1988-5", 85, "mg/L", when=days_ago(3))))
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    assert decision.recent_infection_bloods


def test_raised_crp_in_ankylosing_spondylitis_stays_on_the_rheumatology_pathway() -> None:
    """Inflammatory back pain explains a raised CRP; without fever it is not suspected infection."""
    spondylitis = condition("9631008", "Ankylosing spondylitis", onset="2018-05-01")
    crp = observation("1988-5", 24, "mg/L", when=days_ago(5))
    assert decision_for(record(spondylitis, crp)).pathway == Pathway.SPECIALIST_PATHWAY


def test_ankylosing_spondylitis_with_fever_is_suspected_infection() -> None:
    spondylitis = condition("9631008", "Ankylosing spondylitis", onset="2018-05-01")
    fever = observation("8310-5", 38.7, "Cel")
    assert decision_for(record(spondylitis, fever)).pathway == Pathway.MRI_WITH_INFECTION_BLOODS


def test_systolic_of_85_without_fever_goes_to_the_emergency_department() -> None:
    """NICE NG51 high-risk sign with spinal pain: emergency assessment today whatever the cause."""
    bp = observation("8480-6", 85, "mm[Hg]")
    decision = decision_for(record(bp, who=patient(72, "male")))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert RedFlagId.SYSTEMICALLY_UNWELL in decision.red_flag_ids


def test_news2_of_7_without_fever_goes_to_the_emergency_department() -> None:
    news2 = observation("1104051000000101", 7, "{score}")
    news2["code"]["coding"][0]["system"] = "http://snomed.info/sct"
    assert decision_for(record(news2)).pathway == Pathway.EMERGENCY_DEPARTMENT


def test_heart_rate_of_88_is_not_a_high_risk_sign() -> None:
    decision = decision_for(record(observation("8867-4", 88, "/min")))
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_deceased_patient_still_gets_a_decision_with_the_date_of_death_on_it() -> None:
    who = patient(70, deceasedDateTime="2026-01-04T10:00:00Z")
    decision = decision_for(record(who=who))
    assert decision.deceased is not None
    assert decision.deceased.date == "2026-01-04"
    assert "died" in decision.deceased.what


def test_patient_marked_deceased_without_a_date_is_still_flagged() -> None:
    decision = decision_for(record(who=patient(70, deceasedBoolean=True)))
    assert decision.deceased is not None


def test_living_patient_and_a_death_after_the_order_date_raise_no_deceased_warning() -> None:
    assert decision_for(record(who=patient(70, deceasedBoolean=False))).deceased is None
    later = patient(70, deceasedDateTime="2027-02-01")
    assert decision_for(record(who=later)).deceased is None


@pytest.mark.parametrize(
    "note",
    [
        "neck pain, clumsy hands and unsteady gait",
        "?cervical myelopathy",
        "Lhermitte's sign on neck flexion",
        "pins and needles in both hands",
    ],
)
def test_signs_of_cervical_cord_compression_go_to_the_emergency_department(note: str) -> None:
    """Guideline: 'widespread / progressive neurology (... cord compression in cervical spine)'."""
    order = imaging_order(Modality.MRI, Region.CERVICAL, note=note)
    decision = decision_for(record(who=patient(62)), order)
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert RedFlagId.PROGRESSIVE_NEUROLOGY in decision.red_flag_ids


def test_no_myelopathic_signs_in_the_note_is_not_read_as_cord_compression() -> None:
    order = imaging_order(Modality.MRI, Region.CERVICAL, note="no myelopathy, gait normal")
    decision = decision_for(record(who=patient(62)), order)
    assert RedFlagId.PROGRESSIVE_NEUROLOGY not in decision.red_flag_ids


def test_hiv_written_in_full_is_one_red_flag_not_also_immunosuppression() -> None:
    """'Human immunodeficiency virus infection' is the HIV flag; counting it twice would fake 'several'."""
    hiv = condition("86406008", "Human immunodeficiency virus infection", onset=days_ago(3000))
    decision = decision_for(record(hiv))
    assert decision.red_flag_ids == (RedFlagId.HIV,)
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


def test_a_recorded_immunocompromised_state_is_still_immunosuppression() -> None:
    decision = decision_for(record(), imaging_order(note="immunocompromised after chemotherapy"))
    assert RedFlagId.IMMUNOSUPPRESSION in decision.red_flag_ids
