"""Clinical safety review: cases a GP or radiologist would pose from the guideline and its evidence.

Each expected answer was decided from shared/guideline and reference/evidence.md before running the
engine; where it is a judgement the docstring gives the reasoning.
"""

from __future__ import annotations

import pytest

from cds_service.rules.model import Modality, Pathway, Rating, RedFlagId, Region
from tests.clinical.builders import (
    ICD10,
    condition,
    days_ago,
    decision_for,
    imaging_order,
    medication,
    observation,
    patient,
    procedure,
    record,
    years_ago,
)


def test_saddle_anaesthesia_coded_under_an_unlisted_snomed_code_goes_to_the_emergency_department() -> None:
    """No verified code exists; a record that names the finding must not be hidden by its code."""
    saddle = condition("999000000000000", "Saddle anaesthesia")
    decision = decision_for(record(saddle))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert RedFlagId.SADDLE_ANAESTHESIA in decision.red_flag_ids
    assert RedFlagId.SADDLE_ANAESTHESIA not in {q.id for q in decision.ask_about}


@pytest.mark.parametrize(
    "note",
    [
        "numbness around the back passage since yesterday",
        "reduced perianal sensation",
        "saddle area numbness",
        "new genital numbness",
    ],
)
def test_saddle_anaesthesia_in_the_gps_own_words_goes_to_the_emergency_department(note: str) -> None:
    decision = decision_for(record(), imaging_order(note=note))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert RedFlagId.SADDLE_ANAESTHESIA in decision.red_flag_ids


def test_bilateral_sciatica_with_urinary_retention_goes_to_the_emergency_department() -> None:
    retention = condition("267064002", "Retention of urine")
    decision = decision_for(record(retention), imaging_order(note="bilateral sciatica"))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert {RedFlagId.BLADDER_OR_BOWEL_DYSFUNCTION, RedFlagId.PROGRESSIVE_NEUROLOGY} <= set(
        decision.red_flag_ids
    )


def test_order_sign_with_suspected_cauda_equina_as_its_reason_is_never_booked_as_outpatient_mri() -> None:
    decision = decision_for(record(), imaging_order(reason="suspected cauda equina syndrome"))
    assert decision.pathway == Pathway.EMERGENCY_DEPARTMENT
    assert decision.rating == Rating.NOT_APPROPRIATE


@pytest.mark.parametrize("verification", [None, "unconfirmed", "provisional", "differential"])
def test_cauda_equina_not_yet_confirmed_still_goes_to_the_emergency_department(
    verification: str | None,
) -> None:
    """A suspected CES is the reason to image; waiting for confirmation would be false reassurance."""
    ces = condition("192970008", "Cauda equina syndrome", verification=verification, clinical=None)
    assert decision_for(record(ces)).pathway == Pathway.EMERGENCY_DEPARTMENT


def test_suspected_mscc_cancer_with_new_thoracic_pain_and_leg_weakness_goes_to_the_emergency_department() -> (
    None
):
    """NICE NG234 / QS56: suspected MSCC with a neurological deficit needs MRI within 24 hours."""
    breast = condition("254837009", "Breast cancer", clinical="resolved", onset=years_ago(6))
    weakness = condition("26544005", "Muscle weakness")
    order = imaging_order(region=Region.THORACIC, note="new thoracic pain")
    assert decision_for(record(breast, weakness), order).pathway == Pathway.EMERGENCY_DEPARTMENT


@pytest.mark.parametrize(
    ("code", "display"),
    [
        ("254637007", "Non-small cell lung cancer"),
        ("126906006", "Neoplasm of prostate"),
        ("363478007", "Malignant tumor of thyroid"),
        ("702391001", "Renal cell carcinoma"),
        ("254837009", "Malignant neoplasm of breast"),
    ],
)
def test_each_listed_cancer_in_the_past_with_new_back_pain_books_urgent_mri(code: str, display: str) -> None:
    cancer = condition(code, display, clinical="resolved", onset=years_ago(8))
    decision = decision_for(record(cancer))
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    assert "other-cancer" not in decision.extras["features"]


def test_listed_cancer_coded_under_an_unlisted_snomed_child_still_counts() -> None:
    cancer = condition("1234567000", "Adenocarcinoma of left lung", clinical="remission", onset=years_ago(3))
    assert decision_for(record(cancer)).pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER


def test_xray_for_known_spinal_metastases_is_rated_not_appropriate() -> None:
    mets = condition("94503003", "Secondary malignant neoplasm of vertebral column")
    decision = decision_for(record(mets), imaging_order(Modality.XRAY))
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    assert decision.rating == Rating.NOT_APPROPRIATE
    assert "cannot exclude" in decision.rationale


def test_colon_cancer_history_with_new_back_pain_at_sixty_books_urgent_mri() -> None:
    """Not a listed site, but a second malignancy flag (new presentation over 55) raises suspicion."""
    colon = condition("363406005", "Malignant neoplasm of colon", clinical="resolved", onset=years_ago(4))
    decision = decision_for(record(colon, who=patient(60)))
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER


def test_colon_cancer_history_alone_at_forty_five_is_never_imaging_not_indicated() -> None:
    colon = condition("363406005", "Malignant neoplasm of colon", clinical="resolved", onset=years_ago(4))
    assert decision_for(record(colon)).pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


@pytest.mark.parametrize(
    ("code", "display", "system"),
    [("109989006", "Multiple myeloma", None), ("C90.0", "Multiple myeloma", ICD10)],
)
def test_myeloma_with_back_pain_books_urgent_mri_like_a_listed_cancer(
    code: str, display: str, system: str | None
) -> None:
    """Judgement: myeloma arises in the vertebral marrow (NG234, NG12 back pain at 60+), so it is
    at least as spine-bound as the guideline's listed carcinomas: book MRI stating suspected cancer."""
    myeloma = condition(code, display, **({"system": system} if system else {}))
    assert decision_for(record(myeloma)).pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER


def test_injecting_drug_user_with_fever_books_mri_with_infection_bloods() -> None:
    ivdu = condition("1000000001", "Intravenous drug user", onset=years_ago(5))
    fever = observation("8310-5", 38.6, "Cel")
    decision = decision_for(record(ivdu, fever))
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    assert RedFlagId.IV_DRUG_USE in decision.red_flag_ids


def test_hiv_alone_is_never_imaging_not_indicated() -> None:
    hiv = condition("86406008", "Human immunodeficiency virus infection", onset=years_ago(10))
    assert decision_for(record(hiv)).pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


def test_walking_aids_in_the_note_are_not_hiv() -> None:
    decision = decision_for(record(), imaging_order(note="mobilises with walking aids"))
    assert RedFlagId.HIV not in decision.red_flag_ids


def test_hay_fever_on_the_problem_list_is_not_a_fever() -> None:
    hay_fever = condition("21719001", "Hay fever")
    assert RedFlagId.SYSTEMICALLY_UNWELL not in decision_for(record(hay_fever)).red_flag_ids


def test_kidney_transplant_recipient_with_fever_and_raised_crp_books_mri_with_infection_bloods() -> None:
    transplant = procedure("70536003", "Transplant of kidney")
    fever, crp = observation("8310-5", 38.4, "Cel"), observation("1988-5", 45, "mg/L")
    decision = decision_for(record(transplant, fever, crp))
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    assert decision.recent_infection_bloods


def test_suspected_discitis_in_a_systemically_unwell_patient_goes_to_the_emergency_department() -> None:
    """Guideline: 'Refer to the emergency department ... if patient is systemically unwell'."""
    order = imaging_order(reason="?discitis", note="febrile and systemically unwell")
    assert decision_for(record(), order).pathway == Pathway.EMERGENCY_DEPARTMENT


def test_fever_reads_the_same_as_a_condition_or_an_observation() -> None:
    coded = decision_for(record(condition("386661006", "Fever")))
    measured = decision_for(record(observation("8310-5", 101.3, "[degF]")))
    assert coded.pathway == measured.pathway == Pathway.MRI_WITH_INFECTION_BLOODS
    # Issue 9 item 7: fever is its own finding, never 'systemically unwell'.
    assert coded.red_flag_ids == measured.red_flag_ids == (RedFlagId.FEVER,)


def test_crp_in_mg_per_dl_is_converted_before_it_is_judged() -> None:
    normal = decision_for(record(observation("1988-5", 0.5, "mg/dL")))
    raised = decision_for(record(observation("1988-5", 4.5, "mg/dL")))
    assert RedFlagId.RAISED_INFLAMMATORY_MARKERS not in normal.red_flag_ids
    assert RedFlagId.RAISED_INFLAMMATORY_MARKERS in raised.red_flag_ids


def test_weight_loss_in_pounds_at_sixty_is_two_red_flags() -> None:
    weights = (
        observation("29463-7", 180, "[lb_av]", when=days_ago(200)),
        observation("29463-7", 165, "[lb_av]", when=days_ago(3)),
    )
    decision = decision_for(record(*weights, who=patient(60)))
    assert {RedFlagId.WEIGHT_LOSS, RedFlagId.NEW_ONSET_OVER_55} <= set(decision.red_flag_ids)
    assert decision.pathway == Pathway.IMAGING_MAY_BE_APPROPRIATE


def test_eighty_year_old_woman_after_a_coded_fall_gets_an_xray_for_suspected_fracture() -> None:
    fall = condition("217082002", "Accidental fall", onset=days_ago(3))
    decision = decision_for(record(fall, who=patient(80)), imaging_order(Modality.XRAY))
    assert decision.pathway == Pathway.XRAY_SUSPECTED_FRACTURE
    assert decision.rating == Rating.APPROPRIATE


def test_neck_injury_at_seventy_goes_to_the_emergency_department_for_ct() -> None:
    injury = condition("1000000002", "Injury of neck", onset=days_ago(1))
    order = imaging_order(Modality.XRAY, Region.CERVICAL)
    assert decision_for(record(injury, who=patient(70)), order).pathway == Pathway.EMERGENCY_DEPARTMENT


def test_long_standing_sciatica_with_new_leg_weakness_goes_to_the_specialist_pathway() -> None:
    """BNSSG: severe sciatica lasting more than 6 weeks goes to the spinal interface service."""
    sciatica = condition("23056005", "Sciatica", onset=days_ago(200))
    weakness = condition("26544005", "Muscle weakness")
    decision = decision_for(record(sciatica, weakness))
    assert decision.pathway == Pathway.SPECIALIST_PATHWAY
    assert RedFlagId.SCIATICA_WITH_NEUROLOGY in decision.red_flag_ids


def test_long_term_oral_steroids_with_osteoporosis_get_the_fracture_pathway_for_xray_and_mri() -> None:
    osteoporosis = condition("64859006", "Osteoporosis", onset=years_ago(2))
    prednisolone = medication(
        None, "Prednisolone 5mg tablets", authored=years_ago(2), kind="MedicationStatement"
    )
    for modality in (Modality.XRAY, Modality.MRI):
        decision = decision_for(record(osteoporosis, prednisolone), imaging_order(modality))
        assert decision.pathway == Pathway.XRAY_SUSPECTED_FRACTURE
        assert decision.rating == Rating.APPROPRIATE


def test_fifty_six_year_old_first_presentation_alone_is_imaging_not_indicated_but_asks_the_questions() -> (
    None
):
    decision = decision_for(record(who=patient(56)))
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED
    asked = {q.id for q in decision.ask_about}
    assert {
        RedFlagId.SADDLE_ANAESTHESIA,
        RedFlagId.BLADDER_OR_BOWEL_DYSFUNCTION,
        RedFlagId.WEIGHT_LOSS,
    } <= asked


def test_patient_without_a_birth_date_is_told_the_age_flags_were_not_checked() -> None:
    decision = decision_for(record(who=patient(None)))
    assert any("age" in gap for gap in decision.not_checked)


def test_no_serious_flag_found_by_its_words_ever_ends_in_imaging_not_indicated() -> None:
    """Every serious text-only finding in the GP's note lifts the answer above 'not indicated'."""
    notes = [
        "known myeloma",
        "injects heroin",
        "on long-term prednisolone",
        "fell down the stairs",
        "progressive numbness in both legs",
        "systemically unwell",
    ]
    for note in notes:
        assert decision_for(record(), imaging_order(note=note)).pathway != Pathway.IMAGING_NOT_INDICATED, note
