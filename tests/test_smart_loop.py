"""The whole SMART loop: the answers the app writes to the EHR change the next hook call's decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from cds_service import Settings, create_app
from cds_service.check.questionnaire import build_questionnaire
from cds_service.knowledge import load_knowledge
from cds_service.rules.model import RedFlagId
from cds_service.smart.questionnaire import questionnaire_response
from tests.fixtures.fhir_server import FhirServer
from tests.hook_requests import (
    MRI_LUMBAR,
    PATIENT_ID,
    SELECT_URL,
    complete_prefetch,
    hook_call,
    service_request,
)

pytestmark = pytest.mark.fhir_server


def _post(fhir: FhirServer, resource: dict[str, Any]) -> None:
    resp = requests.post(
        f"{fhir.base_url}/QuestionnaireResponse", json=resource, headers=fhir.headers(), timeout=30
    )
    assert resp.status_code == 201, resp.text


def _call(client: Any, fhir: FhirServer) -> dict[str, Any]:
    body = hook_call([service_request(MRI_LUMBAR, status="draft")], prefetch=complete_prefetch())
    body["fhirServer"] = fhir.base_url
    response = client.post(SELECT_URL, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_a_yes_to_saddle_anaesthesia_in_the_ehr_makes_the_next_card_critical(
    tmp_path: Path, fhir_server: FhirServer
) -> None:
    settings = Settings(
        auth="off",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        fhir_servers=[fhir_server.base_url],
        smart_client_id="spine-cds",
        secret_key="loop",
    )
    client = create_app(settings).test_client()
    before = _call(client, fhir_server)
    assert all(card["indicator"] != "critical" for card in before["cards"])
    assert any(link["type"] == "smart" for card in before["cards"] for link in card.get("links", []))

    form = build_questionnaire(settings, load_knowledge())
    _post(
        fhir_server,
        questionnaire_response(
            form,
            {RedFlagId.SADDLE_ANAESTHESIA: "yes"},
            patient_id=PATIENT_ID,
            authored=datetime.now(UTC) - timedelta(minutes=1),
        ),
    )
    _post(
        fhir_server,
        questionnaire_response(
            form,
            {RedFlagId.BLADDER_OR_BOWEL_DYSFUNCTION: "yes"},
            patient_id="someone-else",
            authored=datetime.now(UTC),
        ),
    )
    after = _call(client, fhir_server)
    (card,) = after["cards"]
    assert card["indicator"] == "critical"
    assert "stated by the clinician in the red-flag check" in card["detail"]
    (action,) = after["systemActions"]
    decision = action["resource"]["extension"][0]["extension"]
    flags = {part["valueCode"] for part in decision if part["url"] == "redFlag"}
    assert flags == {"saddle-anaesthesia"}  # another patient's "yes" to bladder symptoms is not hers
