"""Another patient's data is never used: a prefetched Patient with another id, or record resources
about another patient, are set aside, fetched again from the FHIR server when it can be, refused
with 412 when required data cannot be had, logged without ids, counted, and named on the card."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service import Settings, create_app
from cds_service.cards.decision_extension import read_decision
from cds_service.fhir.same_patient import names_another_patient, referenced_patient_id
from cds_service.samples import request_from_bundle
from tests.fixtures.fhir_server import FhirServer
from tests.test_hook_fhir_fallback import put_record, service_url

REPO = Path(__file__).resolve().parent.parent
PREDNISOLONE = REPO / "sample_bundles" / "08-long-term-prednisolone-osteoporosis-xray.json"
OTHER = "Patient/someone-else-77"
SET_ASIDE = "was about another patient: set aside"


def prednisolone_sample() -> tuple[dict[str, Any], dict[str, Any]]:
    """Sample 08 (long-term prednisolone, osteoporosis, X-ray ordered): its bundle and hook call."""
    bundle = json.loads(PREDNISOLONE.read_text(encoding="utf-8"))
    return bundle, request_from_bundle(bundle)


def client_for(tmp_path: Path, *servers: str) -> FlaskClient:
    settings = Settings(
        auth="off",
        database_url=f"sqlite:///{tmp_path / 'log.sqlite'}",
        fhir_servers=list(servers),
        fetch_deadline_seconds=5,
    )
    return create_app(settings).test_client()


def about_another_patient(request: dict[str, Any], key: str) -> dict[str, Any]:
    """The call with every resource of one prefetch key re-pointed at another patient."""
    changed = copy.deepcopy(request)
    value = changed["prefetch"][key]
    if value["resourceType"] == "Patient":
        value["id"] = OTHER.split("/")[1]
    else:
        for entry in value["entry"]:
            entry["resource"]["subject"] = {"reference": OTHER}
    return changed


def decision_of(body: dict[str, Any]) -> dict[str, Any]:
    found = read_decision(body["systemActions"][0]["resource"], Settings())
    assert found is not None
    return found


def card_detail(body: dict[str, Any]) -> str:
    return "\n".join(card.get("detail", "") + card["summary"] for card in body["cards"])


def mismatches(client: FlaskClient, key: str, source: str) -> float:
    prefix = f'spine_cds_patient_mismatch_total{{key="{key}",source="{source}"}}'
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# --- prefetch only: nothing to fetch from ---------------------------------------------------------


def test_another_patients_steroid_prescription_never_raises_the_steroid_red_flag(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, request = prednisolone_sample()
    request.pop("fhirServer", None)
    # Only the prescription on record shows the steroid (not the sample's draft prednisolone order).
    drafts = request["context"]["draftOrders"]["entry"]
    drafts[:] = [e for e in drafts if e["resource"]["resourceType"] == "ServiceRequest"]
    client = client_for(tmp_path)
    right = client.post(service_url(request), json=request).get_json()
    assert "corticosteroid-use" in decision_of(right)["redFlags"]

    before = mismatches(client, "medicationRequests", "prefetch")
    caplog.set_level(logging.WARNING, logger="cds_service")
    wrong = client.post(service_url(request), json=about_another_patient(request, "medicationRequests"))
    assert wrong.status_code == 200
    body = wrong.get_json()
    assert "corticosteroid-use" not in decision_of(body)["redFlags"]
    assert "medications" in card_detail(body) and SET_ASIDE in card_detail(body)
    assert "so it was not checked" in card_detail(body)
    assert mismatches(client, "medicationRequests", "prefetch") == before + 1
    assert "set aside" in caplog.text
    patient_id = request["context"]["patientId"]
    assert patient_id not in caplog.text and "someone-else-77" not in caplog.text


def test_a_prefetched_patient_with_another_id_and_no_fhir_server_is_412(tmp_path: Path) -> None:
    _, request = prednisolone_sample()
    request.pop("fhirServer", None)
    response = client_for(tmp_path).post(service_url(request), json=about_another_patient(request, "patient"))
    assert response.status_code == 412
    diagnostics = response.get_json()["issue"][0]["diagnostics"]
    assert "'patient'" in diagnostics and "another patient" in diagnostics
    assert "someone-else-77" not in response.get_data(as_text=True)


def test_another_patients_conditions_and_no_fhir_server_is_412(tmp_path: Path) -> None:
    _, request = prednisolone_sample()
    request.pop("fhirServer", None)
    response = client_for(tmp_path).post(
        service_url(request), json=about_another_patient(request, "conditions")
    )
    assert response.status_code == 412
    assert "'conditions'" in response.get_json()["issue"][0]["diagnostics"]


def test_one_foreign_resource_among_the_patients_own_sets_the_whole_key_aside(tmp_path: Path) -> None:
    _, request = prednisolone_sample()
    request.pop("fhirServer", None)
    mixed = copy.deepcopy(request)
    stray = copy.deepcopy(mixed["prefetch"]["conditions"]["entry"][0])
    stray["resource"]["id"] = "stray"
    stray["resource"]["subject"] = {"reference": f"https://ehr.example.org/fhir/{OTHER}/_history/2"}
    mixed["prefetch"]["conditions"]["entry"].append(stray)
    assert client_for(tmp_path).post(service_url(mixed), json=mixed).status_code == 412


def test_records_that_name_no_patient_by_id_are_kept(tmp_path: Path) -> None:
    _, request = prednisolone_sample()
    request.pop("fhirServer", None)
    kept = copy.deepcopy(request)
    for entry, subject in zip(
        kept["prefetch"]["conditions"]["entry"],
        [{"reference": "urn:uuid:6f1c1d0e-8c55-4c1e-9a53-5a1d3f0c9b21"}, {"display": "the patient"}],
        strict=False,
    ):
        entry["resource"]["subject"] = subject
    client = client_for(tmp_path)
    body = client.post(service_url(kept), json=kept).get_json()
    assert SET_ASIDE not in card_detail(body)
    assert decision_of(body)["pathway"] == "xray-suspected-fracture"


@pytest.mark.parametrize(
    ("resource", "other"),
    [
        ({"resourceType": "Patient", "id": "p1"}, False),
        ({"resourceType": "Patient", "id": "p2"}, True),
        ({"resourceType": "Patient"}, False),
        ({"resourceType": "Condition", "subject": {"reference": "Patient/p1"}}, False),
        ({"resourceType": "Condition", "subject": {"reference": "Patient/p2"}}, True),
        (
            {"resourceType": "Condition", "subject": {"reference": "http://x/fhir/Patient/p2/_history/1"}},
            True,
        ),
        ({"resourceType": "Condition", "subject": {"reference": "Group/g1"}}, False),
        ({"resourceType": "MedicationStatement", "subject": {"reference": "#contained"}}, False),
        ({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p2"}}, True),
        ({"resourceType": "QuestionnaireResponse", "subject": {"reference": "Patient/p2"}}, True),
        ({"resourceType": "Observation", "subject": "Patient/p2"}, False),  # junk: no Reference
    ],
)
def test_whose_resource_it_is(resource: dict[str, Any], other: bool) -> None:
    assert names_another_patient(resource, "p1") is other


def test_a_patient_reference_is_read_as_its_id() -> None:
    assert referenced_patient_id({"reference": " Patient/abc-1.2 "}) == "abc-1.2"
    assert referenced_patient_id({"reference": "Practitioner/abc"}) is None
    assert referenced_patient_id(None) is None


# --- the real FHIR server holds the right record --------------------------------------------------


@pytest.mark.fhir_server
@pytest.mark.parametrize("key", ["patient", "conditions", "medicationRequests"])
def test_data_about_another_patient_is_fetched_again_from_the_fhir_server(
    fhir_server: FhirServer, tmp_path: Path, key: str
) -> None:
    bundle, request = prednisolone_sample()
    put_record(fhir_server, bundle, request)
    request["fhirServer"] = fhir_server.base_url
    client = client_for(tmp_path, fhir_server.base_url)
    right = client.post(service_url(request), json=request).get_json()

    before = mismatches(client, key, "prefetch")
    response = client.post(service_url(request), json=about_another_patient(request, key))
    assert response.status_code == 200
    body = response.get_json()
    # The advice is the one the right record gives, and the card says what happened.
    assert decision_of(body)["pathway"] == decision_of(right)["pathway"] == "xray-suspected-fracture"
    assert decision_of(body)["redFlags"] == decision_of(right)["redFlags"]
    assert SET_ASIDE in card_detail(body)
    assert "read from the FHIR server instead" in card_detail(body)
    assert mismatches(client, key, "prefetch") == before + 1
