"""The served OpenAPI document tells integrators the truth: every route, and the shapes it answers."""

from __future__ import annotations

import re
import uuid
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.hook_requests import MRI_KNEE, MRI_LUMBAR, SELECT_URL, hook_call, service_request

IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def served_operations(app: Flask) -> set[tuple[str, str]]:
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        operations |= {(path, method) for method in (rule.methods or set()) - IGNORED_METHODS}
    return operations


def documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in document["paths"].items() for method in item}


def conforms(document: dict[str, Any], schema_name: str, body: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    jsonschema_rs.validator_for(schema).validate(body)


def test_every_served_route_is_documented_and_nothing_else(app: Flask, document: dict[str, Any]) -> None:
    assert documented_operations(document) == served_operations(app)


def test_document_is_openapi_3_1_with_the_declared_service_ids(
    client: FlaskClient, document: dict[str, Any]
) -> None:
    assert document["openapi"].startswith("3.1")
    declared = {service["id"] for service in client.get("/cds-services").get_json()["services"]}
    (parameter,) = document["paths"]["/cds-services/{service_id}"]["post"]["parameters"]
    assert set(parameter["schema"]["enum"]) == declared


def test_cds_endpoints_require_the_client_jwt_and_probes_do_not(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for operation in item.values():
            secured = bool(operation.get("security"))
            assert secured == path.startswith("/cds-services"), path
            if secured:
                assert "401" in operation["responses"]


def test_discovery_answer_matches_the_document(client: FlaskClient, document: dict[str, Any]) -> None:
    conforms(document, "DiscoveryResponse", client.get("/cds-services").get_json())


@pytest.mark.parametrize("order", [MRI_LUMBAR, MRI_KNEE], ids=["lumbar-mri", "knee-mri"])
def test_hook_answer_matches_the_document(client: FlaskClient, document: dict[str, Any], order: Any) -> None:
    response = client.post(SELECT_URL, json=hook_call([service_request(order)]))
    assert response.status_code == 200, response.get_data(as_text=True)
    conforms(document, "HookResponse", response.get_json())


def test_example_request_matches_the_documented_request_schema(document: dict[str, Any]) -> None:
    conforms(document, "HookRequest", hook_call([service_request(MRI_LUMBAR)]))


def test_error_answers_match_the_documented_operation_outcome(
    client: FlaskClient, document: dict[str, Any]
) -> None:
    not_json = client.post(SELECT_URL, data="hello", content_type="text/plain")
    bad_call = client.post(SELECT_URL, json={"hook": "order-select"})
    unknown = client.post("/cds-services/no-such-service", json=hook_call([service_request(MRI_LUMBAR)]))
    for response, status in ((not_json, 415), (bad_call, 400), (unknown, 404)):
        assert response.status_code == status
        conforms(document, "OperationOutcome", response.get_json(force=True))


def test_feedback_answer_matches_the_document(client: FlaskClient, document: dict[str, Any]) -> None:
    item = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-02T10:00:00Z"}
    response = client.post(SELECT_URL + "/feedback", json={"feedback": [item]})
    assert response.status_code == 200
    conforms(document, "FeedbackAccepted", response.get_json())
