"""Discovery: `GET /cds-services` lists the order-select and order-sign services from their declarations."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.hook_requests import hook_call
from tests.invariants import discovery_problems

# Prefetch tokens the spec allows for order hooks (digest §1.4): root-level context fields and user tokens.
LEGAL_TOKENS = {
    "context.patientId",
    "context.userId",
    "context.encounterId",
    "userPractitionerId",
    "userPractitionerRoleId",
    "userPatientId",
    "userRelatedPersonId",
}


def services(client: FlaskClient) -> dict[str, dict]:
    response = client.get("/cds-services")
    assert response.status_code == 200
    return {s["id"]: s for s in response.get_json()["services"]}


def test_discovery_lists_one_service_per_order_hook(client: FlaskClient) -> None:
    found = services(client)
    assert {s["hook"] for s in found.values()} == {"order-select", "order-sign"}
    assert set(found) == {"spinal-imaging-order-select", "spinal-imaging-order-sign"}


def test_discovery_document_has_every_required_field_and_no_empty_values(client: FlaskClient) -> None:
    body = client.get("/cds-services").get_json()
    assert discovery_problems(body) == []
    for service in body["services"]:
        assert service["title"] and service["usageRequirements"]


def test_description_names_the_guideline_and_its_review_dates(client: FlaskClient) -> None:
    for service in services(client).values():
        assert "BNSSG Remedy: Spinal Imaging in Primary Care" in service["description"]
        assert "checked 2020-08-23" in service["description"]
        assert "next review 2021-08-23" in service["description"]


def test_prefetch_templates_use_only_tokens_the_spec_allows(client: FlaskClient) -> None:
    for service in services(client).values():
        assert {"patient", "conditions"} <= set(service["prefetch"])
        for template in service["prefetch"].values():
            for token in re.findall(r"\{\{\s*([^}]*?)\s*\}\}", template):
                assert token in LEGAL_TOKENS, template


def test_every_listed_service_answers_its_hook(client: FlaskClient) -> None:
    for service_id, service in services(client).items():
        body = hook_call([], hook=service["hook"], selections=["ServiceRequest/none"])
        response = client.post(f"/cds-services/{service_id}", json=body)
        assert response.status_code == 200, service_id
        assert response.get_json() == {"cards": []}
