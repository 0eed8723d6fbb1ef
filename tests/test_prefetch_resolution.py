"""Prefetch resolution as CDS Hooks 2.0 says: present -> use, null -> no data (never refetched),
OperationOutcome or missing -> fetch, and 412 when the required keys cannot be had."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service import Settings
from cds_service.errors import Forbidden, PreconditionFailed
from cds_service.fhir.load import load_patient_record
from cds_service.fhir.prefetch import NO_DATA, Present, Refetch, resolve_prefetch, resolve_value
from cds_service.fhir.queries import (
    OBSERVATION_VALUE_SETS,
    PREFETCH_TEMPLATES,
    REQUIRED_KEYS,
    UnfillableTemplate,
    fill_template,
)
from cds_service.knowledge import load_knowledge

CONTEXT = {"patientId": "pat-1", "userId": "Practitioner/gp-7"}
PATIENT = {"resourceType": "Patient", "id": "pat-1", "birthDate": "1960-05-01"}
CANCER = {
    "resourceType": "Condition",
    "id": "c1",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "254837009"}]},
}
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def complete_prefetch() -> dict[str, Any]:
    return {
        "patient": PATIENT,
        "conditions": searchset(CANCER),
        "medicationRequests": None,
        "medicationStatements": None,
        "observations": None,
        "procedures": None,
    }


def load(prefetch: Any, settings: Settings, **kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "context": CONTEXT,
        "prefetch": prefetch,
        "fhir_server": None,
        "access_token": None,
        "settings": settings,
        "other_orders": (),
    }
    args.update(kwargs)
    return load_patient_record(**args)


def test_a_searchset_bundle_is_used() -> None:
    assert resolve_value(searchset(CANCER)) == Present((CANCER,))


def test_a_single_resource_is_used() -> None:
    assert resolve_value(PATIENT) == Present((PATIENT,))


def test_json_null_means_no_data_not_a_refetch() -> None:
    assert resolve_value(None) is NO_DATA
    assert resolve_value(None).resources == ()


def test_an_operation_outcome_is_treated_as_missing() -> None:
    assert resolve_value(OUTCOME) == Refetch("operation-outcome")


def test_a_missing_key_must_be_fetched() -> None:
    resolved = resolve_prefetch({"patient": PATIENT}, ["patient", "conditions"])
    assert resolved == {"patient": Present((PATIENT,)), "conditions": Refetch("missing")}


def test_a_value_that_is_not_fhir_is_refetched() -> None:
    assert resolve_value("Condition?patient=1") == Refetch("unusable")
    assert resolve_value({"entry": []}) == Refetch("unusable")


def test_a_bundle_without_type_and_entries_without_resource_is_read_leniently() -> None:
    bundle = {"resourceType": "Bundle", "entry": [{"fullUrl": "urn:uuid:x"}, {"resource": CANCER}, "junk"]}
    assert resolve_value(bundle) == Present((CANCER,))


def test_search_outcome_warnings_inside_a_bundle_are_not_data() -> None:
    bundle = searchset(CANCER, OUTCOME)
    assert resolve_value(bundle).resources == (CANCER,)  # type: ignore[union-attr]


def test_a_bundle_with_a_next_link_says_the_client_sent_one_page() -> None:
    bundle = searchset(CANCER) | {"link": [{"relation": "next", "url": "https://ehr.example/fhir/x?page=2"}]}
    assert resolve_value(bundle) == Present((CANCER,), "https://ehr.example/fhir/x?page=2")


def test_templates_use_only_the_patient_id_token_and_the_restricted_query_subset() -> None:
    for template in PREFETCH_TEMPLATES.values():
        assert "{{context.patientId}}" in template
        assert "{{" not in template.replace("{{context.patientId}}", "")
        _, _, query = template.partition("?")
        params = {p.split("=")[0] for p in query.split("&") if p}
        assert params <= {"patient", "code"}, template
    assert {"patient", "conditions"} == REQUIRED_KEYS


def test_observation_template_asks_for_crp_wcc_esr_temperature_weight_and_vital_signs() -> None:
    query = PREFETCH_TEMPLATES["observations"]
    for code in ("1988-5", "76485-2", "6690-2", "4537-7", "8310-5", "8331-1", "29463-7", "8480-6", "8867-4"):
        assert f"http://loinc.org|{code}" in query


def test_a_patient_id_that_could_change_the_query_is_never_filled_in() -> None:
    assert fill_template(PREFETCH_TEMPLATES["conditions"], CONTEXT) == "Condition?patient=pat-1"
    with pytest.raises(UnfillableTemplate):
        fill_template(PREFETCH_TEMPLATES["conditions"], {"patientId": "1&_include=*"})
    with pytest.raises(UnfillableTemplate):
        fill_template(PREFETCH_TEMPLATES["patient"], {"patientId": "../Practitioner/1"})


def test_complete_prefetch_builds_the_record_without_any_fhir_server(settings: Settings) -> None:
    record = load(complete_prefetch(), settings)
    assert record.patient == PATIENT
    assert record.of_type("Condition") == [CANCER]
    assert record.unavailable == frozenset()


def test_null_conditions_are_no_data_and_not_a_412(settings: Settings) -> None:
    record = load(complete_prefetch() | {"conditions": None}, settings)
    assert record.of_type("Condition") == []
    assert "conditions" not in record.unavailable


def test_missing_conditions_without_a_fhir_server_is_a_412_naming_the_key(settings: Settings) -> None:
    prefetch = complete_prefetch()
    del prefetch["conditions"]
    with pytest.raises(PreconditionFailed) as raised:
        load(prefetch, settings)
    assert raised.value.status == 412
    outcome = raised.value.operation_outcome()
    assert outcome["issue"][0]["code"] == "processing"
    assert "'conditions'" in outcome["issue"][0]["diagnostics"]
    assert "'patient'" not in outcome["issue"][0]["diagnostics"]


def test_an_operation_outcome_for_the_patient_without_a_fhir_server_is_a_412(settings: Settings) -> None:
    with pytest.raises(PreconditionFailed) as raised:
        load(complete_prefetch() | {"patient": OUTCOME}, settings)
    assert "'patient'" in (raised.value.diagnostics or "")


def test_no_prefetch_and_no_fhir_server_is_a_412_for_both_required_keys(settings: Settings) -> None:
    with pytest.raises(PreconditionFailed) as raised:
        load(None, settings)
    assert "'patient'" in (raised.value.diagnostics or "")
    assert "'conditions'" in (raised.value.diagnostics or "")


def test_missing_medications_and_observations_are_named_as_not_checked(settings: Settings) -> None:
    prefetch = {"patient": PATIENT, "conditions": searchset(CANCER), "procedures": None}
    record = load(prefetch, settings)
    assert record.unavailable == {"medications", "observations"}
    assert record.of_type("Condition") == [CANCER]


def test_an_operation_outcome_for_observations_is_named_as_not_checked(settings: Settings) -> None:
    record = load(complete_prefetch() | {"observations": OUTCOME}, settings)
    assert record.unavailable == {"observations"}


def test_a_null_patient_leaves_the_patient_unknown(settings: Settings) -> None:
    record = load(complete_prefetch() | {"patient": None}, settings)
    assert record.patient is None
    assert "patient" in record.unavailable


def test_a_paginated_prefetch_without_a_server_to_continue_says_conditions_were_not_all_read(
    settings: Settings,
) -> None:
    paged = searchset(CANCER) | {"link": [{"relation": "next", "url": "https://ehr.example/fhir/C?p=2"}]}
    record = load(complete_prefetch() | {"conditions": paged}, settings)
    assert record.of_type("Condition") == [CANCER]
    assert "conditions" in record.unavailable


def test_draft_orders_travel_with_the_record(settings: Settings) -> None:
    steroid = {"resourceType": "MedicationRequest", "id": "draft-1", "status": "draft"}
    record = load(complete_prefetch(), settings, other_orders=[steroid])
    assert record.draft_orders == (steroid,)


def test_a_fetch_from_a_server_not_allowlisted_is_refused(settings: Settings) -> None:
    prefetch = complete_prefetch()
    del prefetch["observations"]
    with pytest.raises(Forbidden) as raised:
        load(prefetch, settings, fhir_server="https://evil.example/fhir", access_token="secret")
    assert raised.value.status == 403
    assert "SPINE_CDS_FHIR_SERVERS" in (raised.value.diagnostics or "")


def test_an_unlisted_fhir_server_is_harmless_when_prefetch_is_complete(settings: Settings) -> None:
    record = load(complete_prefetch(), settings, fhir_server="https://other.example/fhir", access_token="t")
    assert record.unavailable == frozenset()


def test_plain_http_to_a_remote_server_is_refused_even_when_allowlisted() -> None:
    settings = Settings(auth="off", fhir_servers=["http://ehr.example.org/fhir"])
    with pytest.raises(Forbidden) as raised:
        load(None, settings, fhir_server="http://ehr.example.org/fhir")
    assert "https" in raised.value.message


def test_the_observation_template_follows_the_knowledge_value_sets() -> None:
    knowledge = load_knowledge()
    query = PREFETCH_TEMPLATES["observations"]
    for value_set_id in OBSERVATION_VALUE_SETS:
        for system, code in knowledge.value_set(value_set_id).codes:
            assert f"{system}|{code}" in query, (value_set_id, code)
