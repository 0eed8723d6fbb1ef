"""Whole sessions as real CDS clients drive them, against `spine-cds serve` (gunicorn) with auth ON.

First the CDS Hooks Sandbox's PAMA Imaging screen (digest §4): discovery, CORS preflight from the
sandbox's origin, order-select at screen open with `code.coding: [{}]`, order-select once the GP
picks "MRI lumbar spine without contrast" (CPT 72148, reason SNOMED 279039007) with the prefetch the
sandbox could fetch (failures left out, never null), the missing keys fetched by the service from a
real open FHIR server without a token, order-sign sent with `"hook": "order-select"`, feedback
(accepted; overridden with a reason Coding without display) and the PAMA rating where the sandbox
reads it (`extension.systemActions`). Then an EHR: `fhirAuthorization` against a FHIR server that
demands a bearer token, and `null` prefetch keys that are never fetched again.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from cds_service import Settings
from cds_service.cards.decision_extension import PAMA_RATING_URL, read_decision
from tests.cds_clients import Client, sandbox_prefetch, template_problems
from tests.fixtures import unavailable
from tests.fixtures.fhir_server import BEARER_TOKEN, FhirServer
from tests.hook_requests import MRI_LUMBAR, service_request
from tests.invariants import assert_valid_hook_response, discovery_problems
from tests.servers import SPINE_CDS, RunningServer, ServerDidNotStart, spine_cds_serve

SANDBOX_ORIGIN = "http://localhost:8080"  # where the sandbox's web app runs; it calls us cross-origin
SANDBOX_ISS = "https://sandbox.test.invalid"
SANDBOX_JKU = f"{SANDBOX_ISS}/.well-known/jwks.json"
EHR_ISS = "https://ehr.test.invalid"
SELECT = "/cds-services/spinal-imaging-order-select"
SIGN = "/cds-services/spinal-imaging-order-sign"
SNOMED = "http://snomed.info/sct"
# The sandbox sends the reason as the display of its SNOMED picker.
LOW_BACK_PAIN = {"system": SNOMED, "code": "279039007", "display": "Low back pain (finding)"}


@pytest.fixture(scope="module")
def clients() -> dict[str, Client]:
    """The sandbox (key, kid and jku of its own) and an EHR; base URLs are set once serving."""
    return {
        "sandbox": Client(SANDBOX_ISS, "", jku=SANDBOX_JKU, origin=SANDBOX_ORIGIN),
        "ehr": Client(EHR_ISS, ""),
    }


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory,
    clients: dict[str, Client],
    fhir_server: FhirServer,
    fhir_server_bearer: FhirServer,
) -> Iterator[RunningServer]:
    """`spine-cds serve` as a test deployment for the sandbox: auth on, CORS, both FHIR servers."""
    workdir = tmp_path_factory.mktemp("sandbox-session")
    issuers = {
        SANDBOX_ISS: {"jwks": clients["sandbox"].jwks, "jku": [SANDBOX_JKU]},
        EHR_ISS: {"jwks": clients["ehr"].jwks},
    }
    (workdir / "issuers.json").write_text(json.dumps(issuers))
    env = {
        "SPINE_CDS_AUTH": "on",
        "SPINE_CDS_TRUSTED_ISSUERS": str(workdir / "issuers.json"),
        "SPINE_CDS_CORS_ORIGINS": SANDBOX_ORIGIN,
        "SPINE_CDS_FHIR_SERVERS": f"{fhir_server.base_url},{fhir_server_bearer.base_url}",
        "SPINE_CDS_MIRROR_SYSTEM_ACTIONS": "true",
        "SPINE_CDS_PATIENT_HASH_KEY": "sandbox-session-test-key",
        "SPINE_CDS_MAX_BODY_BYTES": "1000000",
        # A loaded CI machine must not turn these tests into timeout tests.
        "SPINE_CDS_FETCH_DEADLINE_SECONDS": "10",
        "SPINE_CDS_FETCH_TIMEOUT_SECONDS": "10",
    }
    try:
        with spine_cds_serve(workdir, env) as served:
            for client in clients.values():
                client.base_url = served.url
            yield served
    except ServerDidNotStart as error:
        unavailable(str(error))


def load_record(server: FhirServer) -> str:
    """A 49-year-old with low back pain, on long-term prednisone; her new Patient id."""
    patient_id = f"pama-{uuid.uuid4().hex[:12]}"
    subject = {"reference": f"Patient/{patient_id}"}
    active = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
    }
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": patient_id, "gender": "female", "birthDate": "1977-03-14"},
        {
            "resourceType": "Condition",
            "id": f"{patient_id}-lbp",
            "clinicalStatus": active,
            "code": {"coding": [LOW_BACK_PAIN]},
            "subject": subject,
            "onsetDateTime": "2026-07-01",
        },
        {
            "resourceType": "MedicationRequest",
            "id": f"{patient_id}-pred",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": [
                    {
                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "code": "312617",
                        "display": "predniSONE 5 MG Oral Tablet",
                    }
                ]
            },
            "subject": subject,
            "authoredOn": "2023-02-01",
        },
    ]
    entries = [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in resources
    ]
    server.load_transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    return patient_id


def pama_context(patient_id: str, study: dict[str, str]) -> dict[str, Any]:
    """The PAMA screen's context: one draft ServiceRequest in a Bundle without `type`."""
    order = service_request(study)
    order["subject"] = {"reference": f"Patient/{patient_id}"}
    order["reasonCode"] = [{"coding": [LOW_BACK_PAIN]}]
    return {
        "userId": "Practitioner/COREPRACTITIONER1",
        "patientId": patient_id,
        "selections": [f"ServiceRequest/{order['id']}"],
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
    }


def hook_call(
    hook: str, client_server: str, context: dict[str, Any], prefetch: dict[str, Any]
) -> dict[str, Any]:
    """A hook call; the sandbox always sends fhirServer, and no fhirAuthorization for an open server."""
    return {
        "hookInstance": str(uuid.uuid4()),
        "hook": hook,
        "fhirServer": client_server,
        "context": context,
        "prefetch": prefetch,
    }


def hook_answer(response: requests.Response) -> dict[str, Any]:
    """A 200 hook answer, checked against the CDS Hooks rules."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert_valid_hook_response(body)
    return body


def the_decision(body: dict[str, Any]) -> dict[str, Any]:
    """The one decision the answer puts on the order (top-level systemActions)."""
    decisions = [read_decision(a["resource"], Settings(auth="off")) for a in body.get("systemActions", [])]
    assert len(decisions) == 1 and decisions[0] is not None
    return decisions[0]


def test_the_sandbox_discovers_both_order_services_with_templates_it_can_fill(
    service: RunningServer, clients: dict[str, Client]
) -> None:
    assert requests.get(f"{service.url}/cds-services", timeout=10).status_code == 401  # auth is on
    response = clients["sandbox"].get("/cds-services")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert discovery_problems(body) == []
    services = {s["id"]: s for s in body["services"]}
    assert {(i, s["hook"]) for i, s in services.items()} == {
        ("spinal-imaging-order-select", "order-select"),
        ("spinal-imaging-order-sign", "order-sign"),
    }
    for declared in services.values():
        assert {"patient", "conditions"} <= set(declared["prefetch"])
        for key, template in declared["prefetch"].items():
            assert template_problems(template) == [], key


@pytest.mark.parametrize("path", ["/cds-services", SELECT, f"{SIGN}/feedback"])
def test_the_sandbox_origin_gets_its_preflight_answered(service: RunningServer, path: str) -> None:
    headers = {
        "Origin": SANDBOX_ORIGIN,
        "Access-Control-Request-Method": "GET" if path == "/cds-services" else "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    response = requests.options(service.url + path, headers=headers, timeout=10)
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == SANDBOX_ORIGIN
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "OPTIONS"} <= methods
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed


def test_a_pama_screen_session_from_opening_to_a_dismissed_card_is_advised_and_reported(
    service: RunningServer, clients: dict[str, Client], fhir_server: FhirServer
) -> None:
    sandbox = clients["sandbox"]
    templates = sandbox.get("/cds-services").json()["services"][0]["prefetch"]
    patient_id = load_record(fhir_server)
    # Its own medication search failed (the sandbox leaves the key out): the service must fetch it.
    prefetch = sandbox_prefetch(templates, fhir_server, patient_id, failing={"medicationRequests"})
    assert {"patient", "conditions"} <= set(prefetch) and "medicationRequests" not in prefetch
    assert None not in prefetch.values()

    opened = hook_call("order-select", fhir_server.base_url, pama_context(patient_id, {}), prefetch)
    at_open = hook_answer(sandbox.post(SELECT, opened))
    assert at_open["cards"] == [] and "systemActions" not in at_open

    context = pama_context(patient_id, MRI_LUMBAR)
    selected = hook_answer(
        sandbox.post(SELECT, hook_call("order-select", fhir_server.base_url, context, prefetch))
    )
    decision = the_decision(selected)
    assert "corticosteroid-use" in decision["redFlags"]  # only the fetched prescriptions show it
    assert decision["pathway"] == "xray-suspected-fracture"
    [card] = selected["cards"]
    assert card["indicator"] == "warning" and card["suggestions"] and card["overrideReasons"]
    # The sandbox shows "PAMA Rating" only from extension.systemActions.
    mirrored = selected["extension"]["systemActions"]
    assert mirrored == selected["systemActions"]
    [rating] = [e for e in mirrored[0]["resource"]["extension"] if e["url"] == PAMA_RATING_URL]
    assert rating["valueCodeableConcept"]["coding"][0]["code"] == decision["rating"]

    # The sandbox's order-sign call says "order-select" in its body.
    signed = hook_answer(
        sandbox.post(SIGN, hook_call("order-select", fhir_server.base_url, context, prefetch))
    )
    assert the_decision(signed)["pathway"] == "xray-suspected-fracture"
    [sign_card] = signed["cards"]

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    accepted = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": now,
    }
    reason = sign_card["overrideReasons"][0]
    overridden = {  # the sandbox drops the reason's display and never sends userComment
        "card": sign_card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": {"code": reason["code"], "system": reason["system"]}},
        "outcomeTimestamp": now,
    }
    for path, item in ((f"{SELECT}/feedback", accepted), (f"{SIGN}/feedback", overridden)):
        stored = sandbox.post(path, {"feedback": [item]})
        assert (stored.status_code, stored.json()) == (200, {})

    report = subprocess.run(
        [
            str(SPINE_CDS),
            "report",
            "--database-url",
            f"sqlite:///{service.log.parent / 'spine-cds.sqlite'}",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    stats = {p["pathway"]: p for p in json.loads(report.stdout)["pathways"]}["xray-suspected-fracture"]
    assert (stats["decisions"], stats["cardsShown"], stats["accepted"], stats["overridden"]) == (2, 2, 1, 1)
    assert stats["overrideReasons"] == {f"{reason['system']}|{reason['code']}": 1}


def ehr_call(
    server: FhirServer, patient_id: str, prefetch: dict[str, Any], token: bool = True
) -> dict[str, Any]:
    """An EHR's order-sign call for a lumbar MRI, with the user's FHIR token when `token`."""
    call = hook_call("order-sign", server.base_url, pama_context(patient_id, MRI_LUMBAR), prefetch)
    del call["context"]["selections"]
    if token:
        call["fhirAuthorization"] = {
            "access_token": BEARER_TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "spine-cds",
            "patient": patient_id,
        }
    return call


def test_an_ehr_call_fetches_with_its_token_and_never_refetches_what_matched_nothing(
    service: RunningServer, clients: dict[str, Client], fhir_server_bearer: FhirServer
) -> None:
    ehr = clients["ehr"]
    patient_id = load_record(fhir_server_bearer)  # her prednisone IS on the FHIR server
    patient = requests.get(
        f"{fhir_server_bearer.base_url}/Patient/{patient_id}",
        headers=fhir_server_bearer.headers(),
        timeout=10,
    ).json()
    # The EHR's own queries matched no medicines, procedures or observations: null, not left out.
    # Conditions are left out: the service must fetch them, with the EHR's token.
    nulls = {
        "medicationRequests": None,
        "medicationStatements": None,
        "procedures": None,
        "observations": None,
    }
    prefetch = {"patient": patient, **nulls}

    answer = hook_answer(ehr.post(SIGN, ehr_call(fhir_server_bearer, patient_id, prefetch)))
    decision = the_decision(answer)
    assert "corticosteroid-use" not in decision["redFlags"]  # null meant "none": never fetched
    assert decision["pathway"] == "imaging-not-indicated"

    # The same server does answer with her prednisone when the key is left out instead.
    left_out = {k: v for k, v in prefetch.items() if k != "medicationRequests"}
    refetched = hook_answer(ehr.post(SIGN, ehr_call(fhir_server_bearer, patient_id, left_out)))
    assert "corticosteroid-use" in the_decision(refetched)["redFlags"]

    # Without the token the conditions cannot be read from this server: 412, naming the key.
    no_token = ehr.post(SIGN, ehr_call(fhir_server_bearer, patient_id, prefetch, token=False))
    assert no_token.status_code == 412
    assert no_token.json()["resourceType"] == "OperationOutcome"
    assert "'conditions'" in no_token.json()["issue"][0]["diagnostics"]


def test_errors_over_http_are_the_readme_statuses_with_an_operation_outcome(
    service: RunningServer, clients: dict[str, Client]
) -> None:
    sandbox = clients["sandbox"]
    too_big = {"hook": "order-select", "padding": "x" * 1_100_000}  # over the limit set above
    wrong_method = requests.get(service.url + SELECT, headers=sandbox.headers(SELECT), timeout=10)
    not_json = requests.post(
        service.url + SELECT,
        data="x",
        headers=sandbox.headers(SELECT) | {"Content-Type": "text/plain"},
        timeout=10,
    )
    answers = {
        404: sandbox.post("/cds-services/no-such-service", {"hook": "order-select"}),
        405: wrong_method,
        413: sandbox.post(SELECT, too_big),
        415: not_json,
        400: sandbox.post(SELECT, {"hook": "order-select"}),
    }
    for status, response in answers.items():
        assert response.status_code == status, response.text[:200]
        assert response.headers["Content-Type"].startswith("application/fhir+json")
        assert response.json()["resourceType"] == "OperationOutcome"
    assert "POST" in wrong_method.headers["Allow"]
