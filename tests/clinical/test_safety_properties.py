"""Safety properties over every combination of red flags: never a false 'imaging not indicated'."""

from __future__ import annotations

import json
from importlib import resources

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.rules.model import Pathway, RedFlagId
from cds_service.rules.pathway import choose_pathway
from cds_service.rules.pathway_rules import load_pathway_rules
from tests.clinical.builders import (
    condition,
    decision_for,
    imaging_order,
    medication,
    observation,
    patient,
    record,
)

# Fixed here, not read from pathway-rules.json, so that editing the data cannot weaken the check.
EMERGENCY = {
    RedFlagId.SADDLE_ANAESTHESIA,
    RedFlagId.BLADDER_OR_BOWEL_DYSFUNCTION,
    RedFlagId.PROGRESSIVE_NEUROLOGY,
}
SERIOUS = {
    RedFlagId.HISTORY_OF_CANCER,
    RedFlagId.CORTICOSTEROID_USE,
    RedFlagId.HIV,
    RedFlagId.IV_DRUG_USE,
    RedFlagId.IMMUNOSUPPRESSION,
    RedFlagId.SYSTEMICALLY_UNWELL,
    RedFlagId.WEIGHT_LOSS,
    RedFlagId.TRAUMA,
    RedFlagId.OSTEOPOROSIS,
    RedFlagId.LIMB_WEAKNESS,
    RedFlagId.RAISED_INFLAMMATORY_MARKERS,
    RedFlagId.SCIATICA_WITH_NEUROLOGY,
    RedFlagId.INFLAMMATORY_BACK_PAIN,
    RedFlagId.SPINAL_INFECTION,
    # Issue 9: fever, a constitutional symptom, recent spinal surgery, persistent or post-surgical
    # radicular pain.
    RedFlagId.FEVER,
    RedFlagId.NIGHT_SWEATS,
    RedFlagId.RECENT_SPINAL_PROCEDURE,
    RedFlagId.PERSISTENT_RADICULAR_PAIN,
    RedFlagId.POST_SURGICAL_LEG_PAIN,
}
# Context only (issue 9: diabetes is a weak infection factor): not counted as one of 'several flags'.
CONTEXT = {RedFlagId.DIABETES}


def _features_named_in_rules() -> list[str]:
    """Every feature any rule or condition mentions, so hypothesis explores them all."""
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("features_any", "features_all"):
                    names.update(value)
                elif key == "min_count":
                    names.update(t.split(":", 1)[1] for t in value["of"] if t.startswith("feature:"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for rule in load_pathway_rules().rules:
        walk(dict(rule.when))
    raw = json.loads(resources.files("cds_service.knowledge").joinpath("suspicion-rules.json").read_text())
    walk(raw["conditions"])
    walk(raw["named_conditions"])
    return sorted(names)


flag_sets = st.sets(st.sampled_from(list(RedFlagId)))
feature_sets = st.sets(st.sampled_from(_features_named_in_rules()))


@settings(max_examples=400, deadline=None)
@given(flags=flag_sets, features=feature_sets)
def test_no_combination_with_an_emergency_or_serious_flag_is_imaging_not_indicated(flags, features):
    rule = choose_pathway(flags, features)
    if flags & (EMERGENCY | SERIOUS):
        assert rule.pathway != Pathway.IMAGING_NOT_INDICATED


@settings(max_examples=300, deadline=None)
@given(flags=flag_sets, features=feature_sets)
def test_any_cauda_equina_or_progressive_neurology_flag_goes_to_the_emergency_department(flags, features):
    if flags & EMERGENCY:
        assert choose_pathway(flags, features).pathway == Pathway.EMERGENCY_DEPARTMENT


@settings(max_examples=300, deadline=None)
@given(flags=flag_sets, features=feature_sets)
def test_several_flags_are_never_imaging_not_indicated(flags, features):
    if len(flags - CONTEXT) >= 2:
        assert choose_pathway(flags, features).pathway != Pathway.IMAGING_NOT_INDICATED


def test_the_shipped_rule_file_weights_every_design_flag():
    rules = load_pathway_rules()
    assert rules.emergency | rules.serious | rules.weak | rules.context == set(RedFlagId)
    assert rules.context <= CONTEXT
    assert rules.emergency >= EMERGENCY
    assert rules.serious >= SERIOUS


# End to end: records assembled from pieces that each carry one red flag.
PIECES = {
    "cancer": lambda: condition(
        "254837009", "Malignant neoplasm of breast", clinical="resolved", onset="2012-01-01"
    ),
    "retention": lambda: condition("267064002", "Retention of urine"),
    "weakness": lambda: condition("26544005", "Muscle weakness"),
    "osteoporosis": lambda: condition("64859006", "Osteoporosis (disorder)", onset="2015-01-01"),
    "steroid": lambda: medication("8638", "prednisolone", kind="MedicationStatement", authored="2024-01-01"),
    "methotrexate": lambda: medication("105586", "Methotrexate 10 MG Oral Tablet"),
    "fever": lambda: observation("8310-5", 38.7, "Cel"),
    "crp": lambda: observation("1988-5", 40, "mg/L"),
    "hiv": lambda: condition("86406008", "Human immunodeficiency virus infection", onset="2010-01-01"),
    "kyphosis": lambda: condition("414564002", "Kyphosis deformity of spine", onset="2010-01-01"),
    "refuted-cancer": lambda: condition("399068003", "Malignant tumor of prostate", verification="refuted"),
    "topical-steroid": lambda: medication("106258", "Hydrocortisone 10 MG/ML Topical Cream"),
}


@settings(max_examples=120, deadline=None)
@given(pieces=st.sets(st.sampled_from(sorted(PIECES))), age=st.integers(min_value=16, max_value=95))
def test_the_engine_never_reassures_when_its_own_evidence_shows_a_serious_flag(pieces, age):
    rec = record(*(PIECES[name]() for name in sorted(pieces)), who=patient(age))
    decision = decision_for(rec, imaging_order())
    if set(decision.red_flag_ids) & (EMERGENCY | SERIOUS):
        assert decision.pathway != Pathway.IMAGING_NOT_INDICATED
    for flag in decision.red_flags:
        assert flag.evidence, f"{flag.id} has no evidence"
