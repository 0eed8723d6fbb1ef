"""The published red-flag Questionnaire as the SMART app relies on it (its shape: test_check_questionnaire),
the prefetch key that reads the answers back, and the card's link to the app."""

from __future__ import annotations

from pathlib import Path

from cds_service import Settings, create_app
from cds_service.fhir.queries import QUESTIONNAIRE_RESPONSES_KEY, fill_template
from cds_service.hooks.response import Link
from cds_service.smart import card_link
from tests.hook_requests import MRI_LUMBAR, SELECT_URL, hook_call, service_request

RULES = Path(__file__).resolve().parent.parent / "cds_service" / "knowledge" / "pathway-rules.json"


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
    assert resource["item"][0]["code"][0]["system"].startswith("https://cds.trust.nhs.uk/fhir/CodeSystem/")
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
