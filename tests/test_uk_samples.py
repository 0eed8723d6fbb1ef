"""The UK-coded sample bundles are shaped like an English GP record and every code in them is read.

A code the value sets do not hold would be silently ignored on a real UK record, so each coded
condition, procedure, prescription and order in the UK samples must be in a knowledge value set
(observations: at least one of their codings, since UK Core vital signs carry SNOMED CT and LOINC).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cds_service.knowledge import load_knowledge
from cds_service.samples import expected_pathway, sample_files
from tests.conftest import SAMPLES

UK_SAMPLES = [p for p in sample_files(SAMPLES) if "-uk-" in p.name]
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
SNOMED = "http://snomed.info/sct"
SPINAL_IMAGING_SETS = ("spinal-imaging-xray", "spinal-imaging-ct", "spinal-imaging-mri")


def resources(path: Path) -> list[dict[str, Any]]:
    return [e["resource"] for e in json.loads(path.read_text("utf-8"))["entry"]]


def codings_of(resource: dict[str, Any]) -> list[tuple[str, str]]:
    concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    return [(c["system"], c["code"]) for c in concept.get("coding", [])]


def recognised(system: str, code: str) -> bool:
    return any(value_set.contains(system, code) for value_set in load_knowledge().value_sets.values())


def nhs_number_is_valid(number: str) -> bool:
    """The NHS number modulus 11 check (NHS Data Dictionary)."""
    if len(number) != 10 or not number.isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    return check != 10 and int(number[9]) == (0 if check == 11 else check)


def test_there_are_uk_samples_for_every_new_rule_and_the_cauda_equina_emergency():
    tags = {p.name: expected_pathway(json.loads(p.read_text("utf-8"))) for p in UK_SAMPLES}
    assert len(tags) >= 6
    assert {
        "urgent-mri-suspected-cancer",
        "mri-with-infection-bloods",
        "imaging-not-indicated",
        "xray-suspected-fracture",
        "specialist-pathway",
        "emergency-department",
    } <= set(tags.values())


@pytest.mark.parametrize("path", UK_SAMPLES, ids=[p.stem for p in UK_SAMPLES])
def test_every_code_in_a_uk_sample_is_recognised_by_the_value_sets(path: Path):
    for resource in resources(path):
        codes = codings_of(resource)
        if resource["resourceType"] == "Observation":
            assert any(recognised(*coding) for coding in codes), resource["id"]
            continue
        for system, code in codes:
            assert recognised(system, code), f"{resource['resourceType']}/{resource['id']}: {system}|{code}"


@pytest.mark.parametrize("path", UK_SAMPLES, ids=[p.stem for p in UK_SAMPLES])
def test_a_uk_sample_is_shaped_like_an_english_gp_record(path: Path):
    found = resources(path)
    patients = [r for r in found if r["resourceType"] == "Patient"]
    assert len(patients) == 1
    numbers = [i["value"] for i in patients[0]["identifier"] if i["system"] == NHS_NUMBER]
    assert numbers and all(nhs_number_is_valid(n) for n in numbers)
    knowledge = load_knowledge()
    for resource in found:
        kind = resource["resourceType"]
        if kind in ("Condition", "ServiceRequest", "Procedure", "MedicationRequest"):
            assert all(system == SNOMED for system, _ in codings_of(resource)), resource["id"]
        if kind == "MedicationRequest":
            course = resource["courseOfTherapyType"]["coding"][0]["code"]
            assert course == "continuous", resource["id"]
        if kind == "ServiceRequest":
            system, code = codings_of(resource)[0]
            assert any(knowledge.value_set(v).contains(system, code) for v in SPINAL_IMAGING_SETS)
