"""FHIR fallback fetch against a real FHIR server (sekmet-fhir): every key, paging, the bearer
token, a server that is down, and logs that never hold the token or the patient id."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import requests
from prometheus_client import REGISTRY

from cds_service.errors import PreconditionFailed
from cds_service.fhir.queries import OBSERVATION_CODES, PREFETCH_TEMPLATES
from tests.fhir_calls import TOKEN, fetch_everything, settings_for
from tests.fixtures.fhir_server import BEARER_TOKEN, FhirServer
from tests.servers import free_port

SYNTHEA = Path(__file__).resolve().parent / "data" / "synthea"
LARGEST = SYNTHEA / "Austin_Franecki_f23eef30-acb2-49da-8091-159b61dc1ed5.json"
SMALL = SYNTHEA / "Stephen_McLaughlin_7735ab79-6ac8-4b81-9936-f7ddabd18751.json"
OBSERVATION_CODE_SET = {code for _, code in OBSERVATION_CODES}


def counts_in(bundle_path: Path) -> dict[str, int]:
    resources = [e["resource"] for e in json.loads(bundle_path.read_text(encoding="utf-8"))["entry"]]
    counts: dict[str, int] = {}
    for res in resources:
        rtype = res["resourceType"]
        if rtype == "Observation":
            codes = {c.get("code") for c in res.get("code", {}).get("coding", [])}
            if not codes & OBSERVATION_CODE_SET:
                continue
        counts[rtype] = counts.get(rtype, 0) + 1
    return counts


def fetches(key: str, outcome: str) -> float:
    labels = {"key": key, "outcome": outcome}
    return REGISTRY.get_sample_value("spine_cds_fallback_fetches_total", labels) or 0.0


@pytest.fixture(scope="module")
def synthea_patient(fhir_server: FhirServer) -> str:
    return fhir_server.load_transaction(SMALL)


@pytest.fixture(scope="module")
def largest_patient(fhir_server: FhirServer) -> str:
    return fhir_server.load_transaction(LARGEST)


def test_every_key_is_fetched_from_the_fhir_server_when_nothing_is_prefetched(
    fhir_server: FhirServer, synthea_patient: str
) -> None:
    before = fetches("conditions", "ok")
    record = fetch_everything(
        fhir_server.base_url, settings_for(fhir_server.base_url), patient_id=synthea_patient
    )
    expected = counts_in(SMALL)
    assert record.patient is not None and record.patient["id"] == synthea_patient
    assert len(record.of_type("Condition")) == expected["Condition"]
    assert len(record.of_type("MedicationRequest")) == expected.get("MedicationRequest", 0)
    assert len(record.of_type("Procedure")) == expected.get("Procedure", 0)
    assert len(record.of_type("Observation")) == expected["Observation"]
    assert record.unavailable == frozenset()
    assert fetches("conditions", "ok") == before + 1


def test_only_the_observations_the_rules_need_are_fetched(
    fhir_server: FhirServer, synthea_patient: str
) -> None:
    record = fetch_everything(
        fhir_server.base_url, settings_for(fhir_server.base_url), patient_id=synthea_patient
    )
    for obs in record.of_type("Observation"):
        assert {c["code"] for c in obs["code"]["coding"]} & OBSERVATION_CODE_SET


def test_prefetched_keys_are_not_refetched_and_null_is_not_refetched(
    fhir_server: FhirServer, synthea_patient: str
) -> None:
    prefetch = {"patient": {"resourceType": "Patient", "id": synthea_patient}, "procedures": None}
    record = fetch_everything(
        fhir_server.base_url,
        settings_for(fhir_server.base_url),
        patient_id=synthea_patient,
        prefetch=prefetch,
    )
    assert record.patient == {"resourceType": "Patient", "id": synthea_patient}
    assert record.of_type("Procedure") == []
    assert record.of_type("Condition")


def test_a_large_record_is_read_across_pages(fhir_server: FhirServer, largest_patient: str) -> None:
    small_pages = {k: f"{t}&_count=10" if "?" in t else t for k, t in PREFETCH_TEMPLATES.items()}
    settings = settings_for(fhir_server.base_url, fetch_max_pages=50, fetch_deadline_seconds=10)
    record = fetch_everything(
        fhir_server.base_url, settings, patient_id=largest_patient, templates=small_pages
    )
    expected = counts_in(LARGEST)
    assert len(record.of_type("MedicationRequest")) == expected["MedicationRequest"] > 10
    assert len(record.of_type("Procedure")) == expected["Procedure"] > 10
    assert record.unavailable == frozenset()


def test_a_record_longer_than_the_page_cap_says_medications_were_not_all_checked(
    fhir_server: FhirServer, largest_patient: str
) -> None:
    small_pages = {k: f"{t}&_count=10" if "?" in t else t for k, t in PREFETCH_TEMPLATES.items()}
    settings = settings_for(fhir_server.base_url, fetch_max_pages=2, fetch_deadline_seconds=10)
    record = fetch_everything(
        fhir_server.base_url, settings, patient_id=largest_patient, templates=small_pages
    )
    assert len(record.of_type("MedicationRequest")) == 20
    assert {"medications", "procedures"} <= record.unavailable


def test_the_access_token_is_forwarded_as_bearer(fhir_server_bearer: FhirServer) -> None:
    patient_id = fhir_server_bearer.load_transaction(SMALL)
    settings = settings_for(fhir_server_bearer.base_url)
    record = fetch_everything(
        fhir_server_bearer.base_url, settings, patient_id=patient_id, access_token=BEARER_TOKEN
    )
    assert record.patient is not None and record.of_type("Condition")


def test_without_the_access_token_a_protected_server_gives_a_412(fhir_server_bearer: FhirServer) -> None:
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(fhir_server_bearer.base_url, settings_for(fhir_server_bearer.base_url))
    assert "unauthorized" in (raised.value.diagnostics or "")


def test_a_patient_unknown_to_the_server_is_no_412_but_nothing_about_them_is_assumed(
    fhir_server: FhirServer,
) -> None:
    settings = settings_for(fhir_server.base_url)
    record = fetch_everything(fhir_server.base_url, settings, patient_id="nobody-here")
    assert record.patient is None
    assert record.unavailable == {"patient"}
    assert record.of_type("Condition") == []


def test_a_fhir_server_that_is_down_gives_a_412() -> None:
    down = f"http://127.0.0.1:{free_port()}/fhir"
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(down, settings_for(down))
    assert "unreachable" in (raised.value.diagnostics or "")


def test_the_token_and_patient_id_never_reach_the_logs_even_at_debug(
    fhir_server: FhirServer, synthea_patient: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        fetch_everything(
            fhir_server.base_url,
            settings_for(fhir_server.base_url),
            patient_id=synthea_patient,
            access_token=TOKEN,
        )
    assert "fallback fetch" in caplog.text
    assert TOKEN not in caplog.text
    assert synthea_patient not in caplog.text


def test_a_prefetch_the_client_paginated_is_completed_from_the_fhir_server(
    fhir_server: FhirServer, largest_patient: str
) -> None:
    first_page = requests.get(
        f"{fhir_server.base_url}/MedicationRequest?patient={largest_patient}&_count=10", timeout=10
    ).json()
    assert any(link["relation"] == "next" for link in first_page["link"])
    prefetch = {key: None for key in PREFETCH_TEMPLATES} | {
        "patient": {"resourceType": "Patient", "id": largest_patient},
        "medicationRequests": first_page,
    }
    settings = settings_for(fhir_server.base_url, fetch_max_pages=50, fetch_deadline_seconds=10)
    record = fetch_everything(fhir_server.base_url, settings, patient_id=largest_patient, prefetch=prefetch)
    assert len(record.of_type("MedicationRequest")) == counts_in(LARGEST)["MedicationRequest"]
    assert record.unavailable == frozenset()
