"""The red-flag questions published as a FHIR R4 Questionnaire, and the prefetch key that reads the
answers back: one source (pathway-rules.json) for card, page and Questionnaire."""

from __future__ import annotations

import json
from pathlib import Path

from fhir.resources.R4B.questionnaire import Questionnaire
from flask.testing import FlaskClient

from cds_service import Settings, create_app
from cds_service.fhir.queries import QUESTIONNAIRE_RESPONSES_KEY, fill_template
from cds_service.hooks.response import Link
from cds_service.rules.model import RedFlagId
from cds_service.smart import card_link
from tests.hook_requests import MRI_LUMBAR, SELECT_URL, hook_call, service_request

RULES = Path(__file__).resolve().parent.parent / "cds_service" / "knowledge" / "pathway-rules.json"


def _knowledge_questions() -> dict[str, str]:
    raw = json.loads(RULES.read_text("utf-8"))
    out: dict[str, str] = {}
    for entry in [*raw["ask_about"], *raw["ask_when_unmeasured"]]:
        out.setdefault(entry["flag"], entry["question"])
    return out


def test_the_questionnaire_is_valid_fhir_r4_and_names_itself(client: FlaskClient) -> None:
    served = client.get("/Questionnaire/spinal-red-flags")
    assert served.status_code == 200
    assert served.mimetype == "application/fhir+json"
    resource = Questionnaire.model_validate(served.get_json())
    assert resource.id == "spinal-red-flags"
    assert resource.url == "https://spine-cds.example.org/fhir/Questionnaire/spinal-red-flags"
    assert resource.status == "active"
    assert resource.version and resource.date


def test_every_question_a_card_can_ask_is_in_the_questionnaire_coded_with_its_red_flag(
    client: FlaskClient,
) -> None:
    items = client.get("/Questionnaire/spinal-red-flags").get_json()["item"]
    asked = _knowledge_questions()
    assert [item["linkId"] for item in items] == list(asked)
    for item in items:
        coding = item["code"][0]
        assert coding["system"] == "https://spine-cds.example.org/fhir/CodeSystem/red-flag"
        assert coding["code"] == item["linkId"] == RedFlagId(item["linkId"]).value
        assert item["text"] == asked[item["linkId"]]
        assert item["type"] == "choice"
        options = [o["valueCoding"]["code"] for o in item["answerOption"]]
        assert options == ["Y", "N"]


def test_the_questionnaire_follows_the_canonical_base(tmp_path: Path) -> None:
    settings = Settings(
        auth="off",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        canonical_base="https://cds.trust.nhs.uk/fhir",
        smart_client_id="spine-cds",
    )
    client = create_app(settings).test_client()
    resource = client.get("/Questionnaire/spinal-red-flags").get_json()
    assert resource["url"] == "https://cds.trust.nhs.uk/fhir/Questionnaire/spinal-red-flags"
    assert resource["item"][0]["code"][0]["system"] == "https://cds.trust.nhs.uk/fhir/CodeSystem/red-flag"
    # The prefetch template asks for responses to exactly this Questionnaire.
    services = client.get("/cds-services").get_json()["services"]
    for service in services:
        assert f"questionnaire={resource['url']}&" in service["prefetch"][QUESTIONNAIRE_RESPONSES_KEY]


def test_the_questionnaire_is_public_when_hook_calls_need_a_signed_jwt(tmp_path: Path) -> None:
    settings = Settings(auth="on", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    client = create_app(settings).test_client()
    assert client.get("/Questionnaire/spinal-red-flags").status_code == 200
    assert client.get("/cds-services").status_code == 401


def test_the_answers_prefetch_key_is_declared_only_with_the_smart_app(tmp_path: Path) -> None:
    plain = create_app(Settings(auth="off", database_url=f"sqlite:///{tmp_path / 'a.sqlite'}")).test_client()
    for service in plain.get("/cds-services").get_json()["services"]:
        assert QUESTIONNAIRE_RESPONSES_KEY not in service["prefetch"]
    smart = create_app(
        Settings(auth="off", database_url=f"sqlite:///{tmp_path / 'b.sqlite'}", smart_client_id="spine-cds")
    ).test_client()
    template = smart.get("/cds-services").get_json()["services"][0]["prefetch"][QUESTIONNAIRE_RESPONSES_KEY]
    query = fill_template(template, {"patientId": "pat-1"})
    assert query.startswith("QuestionnaireResponse?patient=pat-1&questionnaire=")
    assert "status=completed,amended" in query
    assert "{{" not in query


def test_a_call_with_a_complete_record_prefetch_is_answered_when_the_answers_cannot_be_fetched(
    tmp_path: Path,
) -> None:
    """The answers' key is a bonus: its fetch never turns a call the prefetch answers into a 403."""
    settings = Settings(auth="off", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", smart_client_id="x")
    client = create_app(settings).test_client()
    call = hook_call([service_request(MRI_LUMBAR, status="draft")])  # fhirServer not allowlisted
    response = client.post(SELECT_URL, json=call)
    assert response.status_code == 200
    assert response.get_json()["cards"]
    # A record key missing still needs the FHIR server: that stays a clear 403.
    del call["prefetch"]["conditions"]
    assert client.post(SELECT_URL, json=call).status_code == 403


def test_a_card_that_asks_links_to_the_smart_app_only_when_it_is_configured(tmp_path: Path) -> None:
    check = Link(
        label="Answer the red-flag questions", url="https://cds.example.org/check/abc", type="absolute"
    )
    plain = Settings(auth="off", public_url="https://cds.example.org")
    assert card_link(plain, check.label, check) is check
    smart = Settings(auth="off", public_url="https://cds.example.org/", smart_client_id="spine-cds")
    link = card_link(smart, check.label, check)
    assert (link.type, link.url) == ("smart", "https://cds.example.org/smart/launch")
    assert link.appContext is None
