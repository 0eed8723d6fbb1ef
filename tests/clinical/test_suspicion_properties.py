"""Properties of the suspicion rules over every combination of red flags (issue 9)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.rules.model import Pathway, RedFlagId, SuspectedCondition, SuspicionLevel
from cds_service.rules.pathway import assess_and_choose, choose_pathway

# Fixed here, not read from the knowledge files, so that editing the data cannot weaken the check.
RISK_FACTORS = [
    RedFlagId.HIV,
    RedFlagId.IV_DRUG_USE,
    RedFlagId.IMMUNOSUPPRESSION,
    RedFlagId.CORTICOSTEROID_USE,
    RedFlagId.RECENT_INFECTION,
    RedFlagId.RECENT_SPINAL_PROCEDURE,
]
CONSTITUTIONAL = [RedFlagId.WEIGHT_LOSS, RedFlagId.NIGHT_SWEATS, RedFlagId.SYSTEMICALLY_UNWELL]
CANCER_POINTERS = [
    RedFlagId.THORACIC_PAIN,
    RedFlagId.NON_MECHANICAL_OR_NIGHT_PAIN,
    RedFlagId.FAILURE_TO_IMPROVE,
]
MORE_URGENT = {Pathway.EMERGENCY_DEPARTMENT, Pathway.URGENT_MRI_SUSPECTED_CANCER}

others = st.sets(st.sampled_from(list(RedFlagId)))
facts = st.sets(
    st.sampled_from(
        ["older-age", "cervical-order", "neck-injury-age", "long-term-steroid", "sepsis-high-risk"]
    )
)


@settings(max_examples=300, deadline=None)
@given(
    risk=st.sampled_from(RISK_FACTORS),
    sign=st.sampled_from([*CONSTITUTIONAL, RedFlagId.FEVER]),
    rest=others,
    features=facts,
)
def test_an_infection_risk_factor_with_a_constitutional_symptom_or_fever_is_never_imaging_not_indicated(
    risk, sign, rest, features
):
    rule, assessment = assess_and_choose({risk, sign, *rest}, features)
    assert rule.pathway != Pathway.IMAGING_NOT_INDICATED
    assert assessment.level_of(SuspectedCondition.INFECTION) == SuspicionLevel.HIGH
    assert rule.pathway in {*MORE_URGENT, Pathway.MRI_WITH_INFECTION_BLOODS}


@settings(max_examples=300, deadline=None)
@given(
    constitutional=st.sampled_from([RedFlagId.WEIGHT_LOSS, RedFlagId.NIGHT_SWEATS]),
    pointers=st.sets(st.sampled_from(CANCER_POINTERS), min_size=1),
    rest=others,
    features=facts,
)
def test_a_cancer_pointing_combination_is_never_below_urgent_mri(constitutional, pointers, rest, features):
    flags = {constitutional, RedFlagId.NEW_ONSET_OVER_55, *pointers, *rest}
    rule, assessment = assess_and_choose(flags, features)
    assert assessment.level_of(SuspectedCondition.MALIGNANCY) == SuspicionLevel.HIGH
    assert rule.pathway in MORE_URGENT


@settings(max_examples=200, deadline=None)
@given(rest=others, features=facts)
def test_a_cancer_pointing_combination_with_limb_weakness_goes_to_the_emergency_department(rest, features):
    flags = {
        RedFlagId.WEIGHT_LOSS,
        RedFlagId.NEW_ONSET_OVER_55,
        RedFlagId.THORACIC_PAIN,
        RedFlagId.LIMB_WEAKNESS,
        *rest,
    }
    assert choose_pathway(flags, features).pathway == Pathway.EMERGENCY_DEPARTMENT


@settings(max_examples=200, deadline=None)
@given(rest=others, features=facts)
def test_constitutional_symptoms_always_raise_both_malignancy_and_infection(rest, features):
    for symptom in (RedFlagId.WEIGHT_LOSS, RedFlagId.NIGHT_SWEATS):
        _, assessment = assess_and_choose({symptom, *rest}, features)
        assert assessment.level_of(SuspectedCondition.MALIGNANCY) is not None
        assert assessment.level_of(SuspectedCondition.INFECTION) is not None


@settings(max_examples=200, deadline=None)
@given(
    injury=st.sampled_from([RedFlagId.TRAUMA, RedFlagId.LOW_ENERGY_TRAUMA]),
    risk=st.sampled_from(["older-age", "osteoporosis", "corticosteroid-use"]),
    rest=others,
)
def test_an_injury_in_the_old_osteoporotic_or_steroid_treated_is_never_imaging_not_indicated(
    injury, risk, rest
):
    flags = {injury, *rest} | ({risk} if risk != "older-age" else set())
    features = {"older-age"} if risk == "older-age" else set()
    rule, assessment = assess_and_choose(flags, features)
    assert assessment.level_of(SuspectedCondition.OSTEOPOROTIC_FRACTURE) == SuspicionLevel.HIGH
    assert rule.pathway != Pathway.IMAGING_NOT_INDICATED


@settings(max_examples=200, deadline=None)
@given(
    injury=st.sampled_from([RedFlagId.TRAUMA, RedFlagId.LOW_ENERGY_TRAUMA]),
    high_risk=st.sampled_from(["neck-injury-age", RedFlagId.LIMB_PARAESTHESIA, RedFlagId.LIMB_WEAKNESS]),
    rest=others,
)
def test_a_neck_injury_with_a_canadian_c_spine_or_nexus_high_risk_factor_goes_to_the_emergency_department(
    injury, high_risk, rest
):
    features = {"cervical-order"} | ({high_risk} if high_risk == "neck-injury-age" else set())
    flags = {injury, *rest} | ({high_risk} if high_risk != "neck-injury-age" else set())
    assert choose_pathway(flags, features).pathway == Pathway.EMERGENCY_DEPARTMENT


@settings(max_examples=200, deadline=None)
@given(
    radicular=st.sampled_from([RedFlagId.PERSISTENT_RADICULAR_PAIN, RedFlagId.POST_SURGICAL_LEG_PAIN]),
    rest=others,
    features=facts,
)
def test_persistent_or_post_surgical_radicular_pain_is_never_imaging_not_indicated(radicular, rest, features):
    assert choose_pathway({radicular, *rest}, features).pathway != Pathway.IMAGING_NOT_INDICATED


def test_a_low_energy_injury_alone_in_the_young_is_imaging_not_indicated():
    assert choose_pathway({RedFlagId.LOW_ENERGY_TRAUMA}).pathway == Pathway.IMAGING_NOT_INDICATED


def test_every_suspicion_names_only_flags_that_were_found():
    flags = {RedFlagId.HIV, RedFlagId.WEIGHT_LOSS, RedFlagId.THORACIC_PAIN, RedFlagId.NEW_ONSET_OVER_55}
    _, assessment = assess_and_choose(flags)
    for suspicion in assessment.suspicions:
        assert set(suspicion.flags) <= flags
        assert suspicion.flags


def test_a_flag_that_must_be_absent_is_never_named_behind_a_suspicion():
    flags = {RedFlagId.RAISED_INFLAMMATORY_MARKERS, RedFlagId.INFLAMMATORY_BACK_PAIN, RedFlagId.HIV}
    _, assessment = assess_and_choose(flags)
    infection = next(s for s in assessment.suspicions if s.condition == SuspectedCondition.INFECTION)
    assert RedFlagId.INFLAMMATORY_BACK_PAIN not in infection.flags
