"""The hook endpoints speak CDS Hooks 2.0: errors as OperationOutcomes, real-client payloads accepted.

Error-status tests need only the protocol layer. Tests marked "needs the pipeline" go through order
classification, the rules and the cards, so they pass once those stages are in place.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service import Settings, create_app
from tests.hook_requests import (
    MRI_KNEE,
    MRI_LUMBAR,
    PATIENT_ID,
    SELECT_URL,
    SIGN_URL,
    hook_call,
    service_request,
)
from tests.invariants import assert_valid_hook_response


def assert_outcome(response: Any, status: int) -> dict[str, Any]:
    """The response has this status and a FHIR OperationOutcome body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    assert body["issue"][0]["details"]["text"]
    return body


def post(client: FlaskClient, url: str, body: Any) -> Any:
    return client.post(url, json=body)


# --- 404, 405, 415, 413 ----------------------------------------------------------------------


def test_unknown_service_is_404_with_operation_outcome(client: FlaskClient) -> None:
    assert_outcome(post(client, "/cds-services/no-such-service", hook_call([])), 404)


def test_unknown_path_is_404_with_operation_outcome(client: FlaskClient) -> None:
    assert_outcome(client.get("/no-such-page"), 404)


def test_get_on_a_hook_endpoint_is_405_and_says_post_is_allowed(client: FlaskClient) -> None:
    response = client.get(SELECT_URL)
    assert_outcome(response, 405)
    assert "POST" in response.headers["Allow"]


def test_post_on_discovery_is_405(client: FlaskClient) -> None:
    assert_outcome(client.post("/cds-services", json={}), 405)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_415(client: FlaskClient, content_type: str | None) -> None:
    data = json.dumps(hook_call([service_request(MRI_LUMBAR)]))
    headers = {"Content-Type": content_type} if content_type else {}
    assert_outcome(client.post(SELECT_URL, data=data, headers=headers), 415)


def test_fhir_json_content_type_is_accepted(client: FlaskClient) -> None:
    data = json.dumps(hook_call([], selections=["ServiceRequest/none"]))
    response = client.post(SELECT_URL, data=data, content_type="application/fhir+json; charset=utf-8")
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_a_body_over_the_configured_limit_is_413(settings: Settings) -> None:
    small = create_app(settings.model_copy(update={"max_body_bytes": 2_000}))
    body = hook_call([service_request(MRI_LUMBAR)])
    body["extension"] = {"org.example.padding": "x" * 5_000}
    assert_outcome(small.test_client().post(SELECT_URL, json=body), 413)


def test_feedback_over_the_configured_limit_is_413(settings: Settings) -> None:
    small = create_app(settings.model_copy(update={"max_body_bytes": 500}))
    items = [
        {"card": f"c{i}", "outcome": "overridden", "outcomeTimestamp": "2026-11-02T10:00:00Z"}
        for i in range(20)
    ]
    assert_outcome(small.test_client().post(f"{SELECT_URL}/feedback", json={"feedback": items}), 413)


# --- 400: not a CDS Hooks call ---------------------------------------------------------------


@pytest.mark.parametrize("data", ["{not json", "", "[]", '"order-select"', "null", "[" * 100_000])
def test_malformed_json_is_400(client: FlaskClient, data: str) -> None:
    assert_outcome(client.post(SELECT_URL, data=data, content_type="application/json"), 400)


@pytest.mark.parametrize("missing", ["hook", "hookInstance", "context"])
def test_missing_required_field_is_400_naming_it(client: FlaskClient, missing: str) -> None:
    body = hook_call([service_request(MRI_LUMBAR)])
    del body[missing]
    outcome = assert_outcome(post(client, SELECT_URL, body), 400)
    assert missing in outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize("hook", ["patient-view", "encounter-start", "order-dispatch", ""])
def test_a_hook_that_is_not_an_order_hook_is_400(client: FlaskClient, hook: str) -> None:
    body = hook_call([service_request(MRI_LUMBAR)], hook="order-select")
    body["hook"] = hook
    assert_outcome(post(client, SIGN_URL, body), 400)


def test_context_that_is_not_an_object_is_400(client: FlaskClient) -> None:
    body = hook_call([])
    body["context"] = ["patientId", "x"]
    assert_outcome(post(client, SELECT_URL, body), 400)


def test_context_without_patient_id_is_400(client: FlaskClient) -> None:
    body = hook_call([service_request(MRI_LUMBAR)])
    del body["context"]["patientId"]
    outcome = assert_outcome(post(client, SELECT_URL, body), 400)
    assert "context.patientId" in outcome["issue"][0]["diagnostics"]


def test_fhir_authorization_without_fhir_server_is_400(client: FlaskClient) -> None:
    body = hook_call([service_request(MRI_LUMBAR)])
    del body["fhirServer"]
    body["fhirAuthorization"] = {
        "access_token": "secret-token-abc",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "spine-cds",
    }
    outcome = assert_outcome(post(client, SELECT_URL, body), 400)
    assert "cds-r-1" in outcome["issue"][0]["diagnostics"]


def test_a_bad_fhir_authorization_is_400_and_never_echoes_the_token(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = hook_call([service_request(MRI_LUMBAR)])
    body["fhirAuthorization"] = {"access_token": "secret-token-abc", "token_type": "MAC"}
    with caplog.at_level(logging.DEBUG):
        response = post(client, SELECT_URL, body)
    assert_outcome(response, 400)
    assert "secret-token-abc" not in response.get_data(as_text=True)
    assert "secret-token-abc" not in caplog.text


@pytest.mark.parametrize("field, value", [("prefetch", ["patient"]), ("extension", "org.example")])
def test_prefetch_or_extension_that_is_not_an_object_is_400(
    client: FlaskClient, field: str, value: Any
) -> None:
    body = hook_call([])
    body[field] = value
    assert_outcome(post(client, SELECT_URL, body), 400)


@pytest.mark.parametrize("depth", [600, 900])
def test_absurdly_nested_order_code_is_refused_or_ignored_never_a_crash(
    client: FlaskClient, depth: int
) -> None:
    code: Any = {"coding": [MRI_LUMBAR]}
    for _ in range(depth):
        code = [code]
    order = service_request(None)
    order["code"] = code
    response = post(client, SELECT_URL, hook_call([order]))
    if response.status_code == 200:
        assert response.get_json() == {"cards": []}
    else:
        assert_outcome(response, 400)


def test_absurdly_nested_junk_on_a_spinal_order_is_400_not_a_crash(client: FlaskClient) -> None:
    junk: Any = {"a": 1}
    for _ in range(300):
        junk = [junk]
    order = service_request(MRI_LUMBAR)
    order["note"] = [{"text": "see below", "extension": junk}]
    assert_outcome(post(client, SELECT_URL, hook_call([order])), 400)


def test_an_unexpected_failure_is_a_500_outcome_without_internals(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> str:
        raise RuntimeError("patient Jane Doe NHS 943 476 5919")

    app.add_url_rule("/explode", "explode", explode)
    with caplog.at_level(logging.ERROR):
        response = client.get("/explode")
    assert_outcome(response, 500)
    assert "Jane Doe" not in response.get_data(as_text=True)
    assert "RuntimeError" in caplog.text
    assert "Jane Doe" not in caplog.text


# --- lenient with what real clients send ---------------------------------------------------


def test_selections_that_match_no_draft_order_get_no_cards(client: FlaskClient) -> None:
    body = hook_call([service_request(MRI_LUMBAR)], selections=["ServiceRequest/not-in-the-bundle"])
    response = post(client, SELECT_URL, body)
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_an_empty_bundle_of_draft_orders_and_no_selection_yet_get_no_cards(client: FlaskClient) -> None:
    body = hook_call([])
    body["context"]["draftOrders"] = {"resourceType": "Bundle", "entry": []}
    body["context"]["selections"] = []
    assert post(client, SELECT_URL, body).get_json() == {"cards": []}
    del body["context"]["selections"]
    body["hook"] = "order-sign"
    body["context"]["draftOrders"] = {"resourceType": "Bundle"}  # no entry, no type
    assert post(client, SIGN_URL, body).get_json() == {"cards": []}


# --- a broken client never looks like "no advice" --------------------------------------------


@pytest.mark.parametrize(
    ("url", "dropped", "named"),
    [
        (SELECT_URL, ["selections"], "context.selections"),
        (SELECT_URL, ["draftOrders"], "context.draftOrders"),
        (SELECT_URL, ["selections", "draftOrders"], "context.selections, context.draftOrders"),
        (SIGN_URL, ["draftOrders"], "context.draftOrders"),
    ],
)
def test_an_order_hook_without_its_required_context_is_400_naming_the_field(
    client: FlaskClient, url: str, dropped: list[str], named: str, caplog: pytest.LogCaptureFixture
) -> None:
    # What a third-party client library sends today: its context model drops both fields, and a
    # cauda equina patient would get no card and no trace anywhere.
    body = hook_call([service_request(MRI_LUMBAR)], hook="order-sign" if url == SIGN_URL else "order-select")
    for name in dropped:
        body["context"].pop(name, None)
    caplog.set_level(logging.WARNING, logger="cds_service")
    outcome = assert_outcome(post(client, url, body), 400)
    assert named in outcome["issue"][0]["details"]["text"]
    assert named in outcome["issue"][0]["diagnostics"]
    refusals = [r for r in caplog.records if r.getMessage().startswith("hook call refused")]
    assert [r.missing for r in refusals] == [named.split(", ")]  # type: ignore[attr-defined]
    assert PATIENT_ID not in caplog.text


def test_a_null_draft_orders_is_missing_too(client: FlaskClient) -> None:
    body = hook_call([service_request(MRI_LUMBAR)], hook="order-sign")
    body["context"]["draftOrders"] = None
    assert (
        "context.draftOrders" in assert_outcome(post(client, SIGN_URL, body), 400)["issue"][0]["diagnostics"]
    )


def test_refused_calls_are_counted_by_missing_field_in_metrics(client: FlaskClient) -> None:
    def refused(reason: str) -> float:
        for line in client.get("/metrics").get_data(as_text=True).splitlines():
            if line.startswith(f'spine_cds_rejected_requests_total{{reason="{reason}"}}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = refused("missing-context-selections"), refused("missing-context-draftOrders")
    body = hook_call([service_request(MRI_LUMBAR)])
    del body["context"]["selections"]
    post(client, SELECT_URL, body)
    del body["context"]["draftOrders"]
    post(client, SELECT_URL, body)
    after = refused("missing-context-selections"), refused("missing-context-draftOrders")
    assert (after[0] - before[0], after[1] - before[1]) == (2, 1)


def test_junk_in_draft_orders_is_ignored(client: FlaskClient) -> None:
    body = hook_call([])
    body["context"]["draftOrders"] = {
        "resourceType": "Bundle",
        "entry": [None, 3, "x", {}, {"fullUrl": "urn:x"}],
    }
    body["context"]["selections"] = "ServiceRequest/example-request-id"
    response = post(client, SIGN_URL, body)
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_unknown_fields_from_newer_clients_are_accepted(client: FlaskClient) -> None:
    body = hook_call([service_request(MRI_LUMBAR)])
    body["org.example.vendorField"] = True
    body["context"]["org.example.more"] = {"a": 1}
    response = post(client, SELECT_URL, body)
    assert response.status_code == 200
    assert decided_orders(response.get_json()) == ["ServiceRequest/example-request-id"]


# --- needs the pipeline (classification, rules and cards) ------------------------------------


def test_knee_mri_gets_no_cards(client: FlaskClient) -> None:
    response = post(client, SELECT_URL, hook_call([service_request(MRI_KNEE)]))
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_sandbox_first_call_with_an_empty_coding_gets_no_cards(client: FlaskClient) -> None:
    order = service_request(None)
    order["code"] = {"coding": [{}]}
    response = post(client, SELECT_URL, hook_call([order]))
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_an_order_with_no_code_yet_gets_no_cards(client: FlaskClient) -> None:
    response = post(client, SELECT_URL, hook_call([service_request(None)]))
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def decided_orders(body: dict[str, Any]) -> list[str]:
    """The orders the response carries a decision for (its systemAction updates)."""
    return [
        f"{a['resource']['resourceType']}/{a['resource']['id']}"
        for a in body.get("systemActions", [])
        if a.get("type") == "update"
    ]


def test_order_select_advises_on_the_selected_lumbar_mri(client: FlaskClient) -> None:
    response = post(client, SELECT_URL, hook_call([service_request(MRI_LUMBAR)]))
    assert response.status_code == 200
    body = response.get_json()
    assert_valid_hook_response(body)
    assert decided_orders(body) == ["ServiceRequest/example-request-id"]


def test_order_select_leaves_unselected_spinal_orders_alone(client: FlaskClient) -> None:
    orders = [service_request(MRI_LUMBAR, order_id="chosen"), service_request(MRI_LUMBAR, order_id="pending")]
    response = post(client, SELECT_URL, hook_call(orders, selections=["ServiceRequest/chosen"]))
    assert response.status_code == 200
    assert decided_orders(response.get_json()) == ["ServiceRequest/chosen"]


def test_order_sign_advises_on_every_spinal_order_whatever_its_status(client: FlaskClient) -> None:
    orders = [
        service_request(MRI_LUMBAR, order_id="new", status="draft"),
        service_request(MRI_LUMBAR, order_id="revised", status="active"),
        service_request(MRI_KNEE, order_id="knee"),
    ]
    response = post(client, SIGN_URL, hook_call(orders, hook="order-sign"))
    assert response.status_code == 200
    assert sorted(decided_orders(response.get_json())) == ["ServiceRequest/new", "ServiceRequest/revised"]


def test_order_sign_endpoint_called_with_order_select_hook_signs_like_the_sandbox(
    client: FlaskClient,
) -> None:
    # The sandbox's PAMA screen sends "hook": "order-select" to the order-sign service (digest §4).
    orders = [service_request(MRI_LUMBAR, order_id="a"), service_request(MRI_LUMBAR, order_id="b")]
    body = hook_call(orders, hook="order-select", selections=["ServiceRequest/a"])
    response = post(client, SIGN_URL, body)
    assert response.status_code == 200
    assert sorted(decided_orders(response.get_json())) == ["ServiceRequest/a", "ServiceRequest/b"]


def test_spinal_order_without_prefetch_or_fhir_server_is_412(client: FlaskClient) -> None:
    body = hook_call([service_request(MRI_LUMBAR)])
    del body["prefetch"]
    del body["fhirServer"]
    outcome = assert_outcome(post(client, SELECT_URL, body), 412)
    assert "conditions" in outcome["issue"][0]["diagnostics"]


def test_a_non_spinal_order_needs_no_patient_data(client: FlaskClient) -> None:
    body = hook_call([service_request(MRI_KNEE)])
    del body["prefetch"]
    del body["fhirServer"]
    response = post(client, SELECT_URL, body)
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}
