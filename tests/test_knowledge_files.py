"""The knowledge files: shipped files validate, broken copies are caught, the review date is watched."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import cds_service.knowledge as knowledge_package
from cds_service.cli import main
from cds_service.knowledge import (
    Knowledge,
    knowledge_directory,
    load_knowledge,
    read_knowledge,
    warn_if_review_overdue,
)
from cds_service.knowledge.guideline import load_guideline
from cds_service.knowledge.validation import validate_knowledge

SHIPPED = Path(knowledge_package.__file__).resolve().parent
VERIFIED = {
    "url": "https://spine-cds.example.org/fhir/StructureDefinition/code-verification",
    "valueCode": "verified",
}
UNVERIFIED = {"url": VERIFIED["url"], "valueCode": "unverified"}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped knowledge files."""
    target = tmp_path / "knowledge"
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data), "utf-8")


def problems(directory: Path) -> list[str]:
    return validate_knowledge(directory).problems


def test_the_shipped_knowledge_files_validate():
    report = validate_knowledge(knowledge_directory())
    assert report.problems == []
    assert report.value_sets >= 4
    assert report.thresholds > 0


def test_validate_command_exits_zero_on_the_shipped_files(capsys):
    assert main(["knowledge", "validate"]) == 0
    assert "knowledge OK" in capsys.readouterr().out


def test_validate_command_exits_non_zero_and_names_the_problem_on_a_broken_copy(copy, capsys):
    mri = copy / "valuesets" / "spinal-imaging-mri.json"
    data = read(mri)
    data["id"] = "spinal-mri"
    write(mri, data)
    assert main(["knowledge", "validate", "--dir", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "spinal-imaging-mri.json: id 'spinal-mri' differs from the file name" in out
    assert "FAILED" in out


def test_an_unverified_code_without_a_note_fails_validation(copy):
    path = copy / "valuesets" / "spinal-imaging-xray.json"
    data = read(path)
    data["compose"]["include"][0]["concept"].append(
        {"code": "72199", "display": "Made up", "extension": [UNVERIFIED]}
    )
    write(path, data)
    assert any("72199 is unverified and has no code-note" in p for p in problems(copy))


def test_a_code_without_a_verification_mark_fails_validation(copy):
    path = copy / "valuesets" / "spinal-imaging-ct.json"
    data = read(path)
    data["compose"]["include"][0]["concept"].append({"code": "72199", "display": "No mark"})
    write(path, data)
    assert any("72199 has no valid code-verification mark" in p for p in problems(copy))


def test_a_value_set_without_a_source_fails_validation(copy):
    path = copy / "valuesets" / "not-spinal-imaging.json"
    data = read(path)
    data["extension"] = [e for e in data["extension"] if not e["url"].endswith("valueset-source")]
    write(path, data)
    assert any("not-spinal-imaging.json: no valueset-source" in p for p in problems(copy))


def test_a_value_set_that_is_not_a_valid_fhir_valueset_fails_validation(copy):
    path = copy / "valuesets" / "spinal-imaging-ct.json"
    data = read(path)
    data["date"] = "last Tuesday"  # FHIR dateTime
    write(path, data)
    assert any("spinal-imaging-ct.json: not a valid FHIR R4 ValueSet" in p for p in problems(copy))


def test_a_threshold_without_a_source_fails_validation(copy):
    path = copy / "thresholds.json"
    data = read(path)
    data["new_threshold"] = {"value": 3, "unit": "months"}
    write(path, data)
    assert "thresholds.json: 'new_threshold' has no source" in problems(copy)


def test_a_threshold_without_a_value_fails_validation(copy):
    path = copy / "thresholds.json"
    data = read(path)
    data["new_threshold"] = {"unit": "months", "source": "somewhere"}
    write(path, data)
    assert "thresholds.json: 'new_threshold' has no value" in problems(copy)


def test_a_file_that_does_not_parse_fails_validation(copy):
    (copy / "valuesets" / "spinal-imaging-mri.json").write_text("{not json", "utf-8")
    assert any(p.startswith("spinal-imaging-mri.json: not valid JSON") for p in problems(copy))


def test_a_guideline_review_date_that_does_not_parse_fails_validation(copy):
    path = copy / "guideline.json"
    data = read(path)
    data["next_review"] = "next summer"
    write(path, data)
    assert "guideline.json: 'next_review' is not an ISO date ('next summer')" in problems(copy)


def test_another_knowledge_file_without_provenance_fails_validation(copy):
    write(copy / "new-rules.json", {"weights": {"trauma": 1}})
    assert "new-rules.json: 'weights' has no 'source' or 'rationale'" in problems(copy)
    write(copy / "new-rules.json", {"weights": {"trauma": {"value": 1, "rationale": "guideline list"}}})
    assert problems(copy) == []


def test_a_missing_thresholds_file_fails_validation(copy):
    (copy / "thresholds.json").unlink()
    assert "thresholds.json: missing" in problems(copy)


def test_the_overdue_guideline_review_is_logged_as_a_warning_at_start_up(caplog):
    load_knowledge.cache_clear()
    with caplog.at_level(logging.WARNING, logger="cds_service.knowledge"):
        load_knowledge()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("due for review on 2021-08-23" in w and "clinical lead must re-check" in w for w in warnings)


def test_no_review_warning_while_the_guideline_is_in_date(caplog):
    guideline = load_guideline()
    with caplog.at_level(logging.WARNING, logger="cds_service.knowledge"):
        assert warn_if_review_overdue(guideline, date(2021, 1, 1)) is False
    assert caplog.records == []


def test_knowledge_is_loaded_once_per_process():
    assert load_knowledge() is load_knowledge()


def test_value_sets_and_thresholds_are_read_through_the_knowledge_api():
    knowledge = read_knowledge(knowledge_directory())
    mri = knowledge.value_set("spinal-imaging-mri")
    assert mri.contains("http://www.ama-assn.org/go/cpt", "72148")
    assert mri.contains(None, "72148")
    assert not mri.contains("http://snomed.info/sct", "72148")
    assert ("http://loinc.org", "24968-0") in mri.codes
    assert "24968-0" in mri.bare_codes
    assert mri.codes <= set(mri.keys())
    name, threshold = next(iter(knowledge.thresholds.items()))
    assert knowledge.threshold(name) == threshold.value
    assert threshold.source


def test_unknown_value_set_and_threshold_names_raise_a_clear_key_error():
    knowledge = load_knowledge()
    with pytest.raises(KeyError, match="no value set 'spinal-imaging-pet'"):
        knowledge.value_set("spinal-imaging-pet")
    with pytest.raises(KeyError, match="no threshold 'not-a-threshold'"):
        knowledge.threshold("not-a-threshold")


def test_value_set_match_returns_the_coding_or_the_matched_text():
    knowledge = load_knowledge()
    ct = knowledge.value_set("spinal-imaging-ct")
    coded = ct.match(
        [{"coding": [{"system": "http://loinc.org", "code": "24963-1", "display": "CT L-spine"}]}]
    )
    assert coded is not None and (coded.system, coded.code) == ("http://loinc.org", "24963-1")
    by_text = ct.match({"text": "CT thoracic spine"})
    assert by_text is not None and by_text.code is None and by_text.display == "CT thoracic spine"
    assert ct.match({"text": "CT head"}) is None


def test_icd10_category_prefix_concepts_match_their_subcodes(copy):
    path = copy / "valuesets" / "prefix-demo.json"
    write(
        path,
        {
            "resourceType": "ValueSet",
            "id": "prefix-demo",
            "url": "https://spine-cds.example.org/fhir/ValueSet/prefix-demo",
            "status": "draft",
            "extension": [
                {
                    "url": "https://spine-cds.example.org/fhir/StructureDefinition/valueset-source",
                    "valueString": "test",
                }
            ],
            "compose": {
                "include": [
                    {
                        "system": "http://hl7.org/fhir/sid/icd-10",
                        "concept": [
                            {
                                "code": "C79.5",
                                "extension": [
                                    VERIFIED,
                                    {
                                        "url": "https://spine-cds.example.org/fhir/StructureDefinition/code-prefix-match",
                                        "valueBoolean": True,
                                    },
                                ],
                            }
                        ],
                    }
                ]
            },
        },
    )
    assert problems(copy) == []
    demo: Knowledge = read_knowledge(copy)
    value_set = demo.value_set("prefix-demo")
    assert value_set.contains("http://hl7.org/fhir/sid/icd-10", "C79.51")
    assert value_set.contains(None, "C79.5")
    assert not value_set.contains("http://hl7.org/fhir/sid/icd-10", "C79.4")
    assert value_set.contains("http://hl7.org/fhir/sid/icd-10", "C7951")  # sent without the dot
    assert ("http://hl7.org/fhir/sid/icd-10", "C79.5") in set(value_set.keys())


def test_codes_sent_with_an_oid_system_match_the_canonical_uri():
    knowledge = load_knowledge()
    mri = knowledge.value_set("spinal-imaging-mri")
    assert mri.contains("urn:oid:2.16.840.1.113883.6.12", "72148")
    assert mri.contains("urn:oid:2.16.840.1.113883.6.96", "41333006")
    assert not mri.contains("urn:oid:2.16.840.1.113883.6.1", "72148")
    # so that PatientRecord.with_any_code finds records coded with OIDs too
    assert ("urn:oid:2.16.840.1.113883.6.1", "24968-0") in set(mri.keys())


def test_a_value_set_with_odd_shapes_is_reported_not_crashed_on(copy):
    path = copy / "valuesets" / "spinal-imaging-mri.json"
    data = read(path)
    data["compose"]["include"][0]["concept"] += [{"code": ["72148"]}, "72148", {"display": "no code"}]
    write(path, data)
    found = problems(copy)
    assert any("spinal-imaging-mri.json: not a valid FHIR R4 ValueSet" in p for p in found)
    assert any("every concept needs a code" in p for p in found)


UK_VERIFIED = {"url": VERIFIED["url"], "valueCode": "verified-uk"}
SCT = "http://snomed.info/sct"
NOT_AN_ID = "is not a valid SNOMED CT concept id"
CODE_SOURCE = "https://spine-cds.example.org/fhir/StructureDefinition/code-source"


def add_concept(copy: Path, value_set: str, system: str, concept: dict[str, Any]) -> None:
    path = copy / "valuesets" / f"{value_set}.json"
    data = read(path)
    data["compose"]["include"].append({"system": system, "concept": [concept]})
    write(path, data)


NOT_CONCEPT_IDS = {
    "111272002": "fails the SNOMED CT Verhoeff check digit",  # shipped once as vertebral osteomyelitis
    "61285002": "fails the SNOMED CT Verhoeff check digit",  # shipped once as spinal epidural abscess
    "1007761000000100": "fails the SNOMED CT Verhoeff check digit",  # last digit lost in a spreadsheet
    "2790390017": "has partition 01 (a concept id has 00 or 10)",  # a description id
    "12345": "has 5 digits",
    "27903900A": "is not all digits",
    "0279039007": "starts with 0",
}


def test_a_snomed_code_that_cannot_be_a_concept_id_fails_validation(copy):
    for code in NOT_CONCEPT_IDS:
        add_concept(copy, "spinal-infection", SCT, {"code": code, "extension": [VERIFIED]})
    found = problems(copy)
    for code, why in NOT_CONCEPT_IDS.items():
        assert any(f"{SCT}|{code} {NOT_AN_ID}: it {why}" in p for p in found), code


def test_a_dmd_product_id_that_lost_its_last_digits_fails_validation(copy):
    # Methotrexate 25mg/5ml oral solution as a corrupted OpenSAFELY CSV stores it.
    concept = {"code": "12816911000001100", "extension": [VERIFIED]}
    add_concept(copy, "immunosuppressants", "https://dmd.nhs.uk", concept)
    assert any(f"https://dmd.nhs.uk|12816911000001100 {NOT_AN_ID}" in p for p in problems(copy))


def test_valid_uk_ids_with_check_digits_pass_validation(copy):
    for code in ("1007761000000101", "919541000000106", "325427002"):
        add_concept(copy, "hiv", SCT, {"code": code, "extension": [VERIFIED]})
    assert problems(copy) == []


def test_a_snomed_code_in_another_knowledge_file_is_checked_too(copy):
    write(
        copy / "extra.json",
        {"source": "test", "codes": [{"system": SCT, "code": "61285002"}]},
    )
    assert any(f"extra.json: {SCT}|61285002 {NOT_AN_ID}" in p for p in problems(copy))


def test_a_uk_verified_code_without_the_uk_set_that_verifies_it_fails_validation(copy):
    add_concept(copy, "hiv", SCT, {"code": "62479008", "extension": [UK_VERIFIED]})
    assert any("62479008 is verified-uk and has no code-source" in p for p in problems(copy))
    add_concept(
        copy,
        "hiv",
        SCT,
        {
            "code": "713341001",
            "extension": [UK_VERIFIED, {"url": CODE_SOURCE, "valueString": "uk-codes: hiv set"}],
        },
    )
    assert not any("713341001" in p for p in problems(copy))


def test_the_validate_command_names_a_wrong_check_digit(copy, capsys):
    add_concept(copy, "spinal-infection", SCT, {"code": "111272002", "extension": [VERIFIED]})
    assert main(["knowledge", "validate", "--dir", str(copy)]) == 1
    assert f"111272002 {NOT_AN_ID}: it fails the SNOMED CT Verhoeff check digit" in (capsys.readouterr().out)
