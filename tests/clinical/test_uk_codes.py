"""UK GP records: the codes EMIS, SystmOne and Vision send (SNOMED CT UK, dm+d) reach the right flag.

The first group pins the five codes that a check against published UK primary-care code sets found
wrong (shared/reference/uk-codes/project-check.md); the rest show that the UK families added to the
value sets are read: dm+d prednisolone and immunosuppressants, AIDS, injecting drug use, collapse of
vertebra, unexplained weight loss, pyrexia, axial spondyloarthritis.
"""

from __future__ import annotations

from cds_service.knowledge import load_knowledge
from cds_service.rules.model import Pathway, RedFlagId
from tests.clinical.builders import (
    condition,
    decision_for,
    medication,
    patient,
    record,
    years_ago,
)

SNOMED = "http://snomed.info/sct"
DMD = "https://dmd.nhs.uk"


# --- the five suspect codes ------------------------------------------------------------------


def test_man_with_chronic_prostatitis_gets_no_thoracic_pain_red_flag():
    # 426135001 was shipped as "Chronic thoracic back pain"; UK systems read it as chronic prostatitis.
    rec = record(
        condition("426135001", "Chronic prostatitis - chronic pelvic pain syndrome", onset=years_ago(2)),
        who=patient(48, "male"),
    )
    decision = decision_for(rec)
    assert RedFlagId.THORACIC_PAIN not in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_thoracic_back_pain_coded_the_uk_way_is_the_thoracic_pain_red_flag():
    for code, display in (("279038004", "Thoracic back pain"), ("267981009", "Pain in thoracic spine")):
        decision = decision_for(record(condition(code, display)))
        assert RedFlagId.THORACIC_PAIN in decision.red_flag_ids, code


def test_vertebral_metastasis_coded_the_uk_way_gets_urgent_mri_for_suspected_cancer():
    # The project shipped 94503003 as the vertebral secondary; the UK concept is 94602001.
    for code in ("94602001", "94274006", "94389000"):
        rec = record(condition(code, "Metastatic malignant neoplasm to vertebral column", onset=years_ago(1)))
        decision = decision_for(rec)
        assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER, code


def test_secondary_in_the_prostate_is_still_metastatic_cancer_not_dropped_with_its_wrong_name():
    rec = record(
        condition("94503003", "Secondary malignant neoplasm of prostate", onset=years_ago(1)),
        who=patient(70, "male"),
    )
    decision = decision_for(rec)
    assert RedFlagId.HISTORY_OF_CANCER in decision.red_flag_ids
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    concept = load_knowledge().value_set("cancer-metastatic").concept(SNOMED, "94503003")
    assert concept is not None and "prostate" in concept.display and "vertebral" not in concept.display


def test_vertebral_osteomyelitis_coded_the_uk_way_gets_mri_with_infection_bloods():
    # 111272002 (shipped) fails the SNOMED check digit: no UK record can carry it.
    decision = decision_for(record(condition("203241002", "Osteomyelitis of vertebra")))
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS


def test_spinal_epidural_abscess_coded_the_uk_way_gets_mri_with_infection_bloods():
    # 61285002 (shipped) fails the SNOMED check digit; the UK concept is 63627007.
    decision = decision_for(record(condition("63627007", "Spinal epidural abscess")))
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS


def test_discitis_coded_the_uk_way_gets_mri_with_infection_bloods():
    decision = decision_for(record(condition("2304001", "Discitis")))
    assert decision.pathway == Pathway.MRI_WITH_INFECTION_BLOODS


def test_patient_with_gastritis_gets_no_spinal_infection_flag():
    # 4556007 was shipped as "Discitis"; it is in no UK set and a public list labels it Gastritis.
    decision = decision_for(record(condition("4556007", "Gastritis")))
    assert RedFlagId.SPINAL_INFECTION not in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_no_shipped_value_set_holds_a_code_that_fails_the_snomed_check_digit():
    sets = load_knowledge().value_sets.values()
    for bad in ("111272002", "61285002"):
        assert not any(value_set.contains(SNOMED, bad) for value_set in sets), bad


# --- UK families that were missing -------------------------------------------------------------


def test_long_term_dmd_prednisolone_repeat_is_the_corticosteroid_red_flag():
    for system in (SNOMED, DMD):
        rec = record(
            medication("325427002", "Prednisolone 5mg tablets", system=system, authored=years_ago(1.5)),
            who=patient(78),
        )
        decision = decision_for(rec)
        assert RedFlagId.CORTICOSTEROID_USE in decision.red_flag_ids, system


def test_branded_prednisolone_amp_is_read_as_a_systemic_steroid():
    rec = record(medication("331111000001100", "Deltacortril 5mg gastro-resistant tablets", system=SNOMED))
    assert RedFlagId.CORTICOSTEROID_USE in decision_for(rec).red_flag_ids


def test_prednisolone_eye_drops_are_not_a_systemic_steroid():
    rec = record(medication("330494006", "Prednisolone eye drops", system=SNOMED))
    assert RedFlagId.CORTICOSTEROID_USE not in decision_for(rec).red_flag_ids


def test_dmd_methotrexate_and_azathioprine_are_immunosuppression():
    for code, display in (
        ("326874007", "Methotrexate 2.5mg tablets"),
        ("327070006", "Azathioprine 50mg tablets"),
    ):
        rec = record(medication(code, display, system=SNOMED))
        assert RedFlagId.IMMUNOSUPPRESSION in decision_for(rec).red_flag_ids, code


def test_aids_and_hiv_positive_are_the_hiv_red_flag():
    for code in ("62479008", "165816005"):
        assert RedFlagId.HIV in decision_for(record(condition(code, ""))).red_flag_ids, code


def test_injecting_drug_user_coded_the_uk_way_is_the_iv_drug_use_red_flag():
    for code in ("226034001", "741063003"):
        rec = record(condition(code, "Injecting drug user", onset=years_ago(1)))
        assert RedFlagId.IV_DRUG_USE in decision_for(rec).red_flag_ids, code


def test_never_injected_drugs_is_not_the_iv_drug_use_red_flag():
    for code, display in (("413096007", "Never injecting drug user"), ("228392004", "Does not inject drugs")):
        rec = record(condition(code, display))
        assert RedFlagId.IV_DRUG_USE not in decision_for(rec).red_flag_ids, code


def test_collapse_of_vertebra_is_read_as_a_vertebral_fracture():
    rec = record(condition("84138006", "Collapse of vertebra"), who=patient(80))
    decision = decision_for(rec)
    assert RedFlagId.TRAUMA in decision.red_flag_ids
    assert decision.pathway != Pathway.IMAGING_NOT_INDICATED


def test_unexplained_weight_loss_coded_the_uk_way_is_the_weight_loss_red_flag():
    rec = record(condition("422868009", "Unexplained weight loss"))
    assert RedFlagId.WEIGHT_LOSS in decision_for(rec).red_flag_ids


def test_pyrexia_coded_the_uk_way_counts_as_fever():
    rec = record(condition("248425001", "Pyrexia", onset=years_ago(0.01)))
    decision = decision_for(rec)
    assert any(
        flag.id == RedFlagId.SYSTEMICALLY_UNWELL and "248425001" in flag.evidence[0].what
        for flag in decision.red_flags
    )


def test_uk_axial_spondyloarthritis_code_gets_the_specialist_pathway():
    rec = record(condition("919541000000106", "Axial spondyloarthritis", onset=years_ago(3)), who=patient(31))
    decision = decision_for(rec)
    assert RedFlagId.INFLAMMATORY_BACK_PAIN in decision.red_flag_ids
    assert decision.pathway == Pathway.SPECIALIST_PATHWAY
