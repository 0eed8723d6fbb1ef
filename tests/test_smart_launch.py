"""The SMART app: EHR launch with PKCE against an authlib authorization server, answers written to
the real FHIR server (sekmet, behind the EHR double's token check) as a QuestionnaireResponse."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from cds_service import Settings, create_app
from cds_service.smart.launch import PendingLaunch, Sealer
from cds_service.smart.pages import LAUNCH_COOKIE
from cds_service.smart.questionnaire import questionnaire_url
from tests.fixtures.fhir_server import FhirServer
from tests.smart_ehr import CLIENT_ID, SmartEhr, running_ehr

PUBLIC_URL = "http://127.0.0.1:8099"
REDIRECT_URI = f"{PUBLIC_URL}/smart/callback"

pytestmark = pytest.mark.fhir_server


@pytest.fixture(scope="module")
def ehr(fhir_server: FhirServer) -> Iterator[SmartEhr]:
    """The EHR double, in front of the suite's sekmet."""
    with running_ehr(fhir_server, REDIRECT_URI) as running:
        yield running


@pytest.fixture
def smart_settings(tmp_path: Any, ehr: SmartEhr) -> Settings:
    """The service as a SMART app of the EHR double."""
    return Settings(
        auth="off",
        database_url=f"sqlite:///{tmp_path / 'spine-cds.sqlite'}",
        public_url=PUBLIC_URL,
        fhir_servers=[ehr.fhir_base],
        smart_client_id=CLIENT_ID,
        secret_key="smart-test-secret",
    )


@pytest.fixture
def app_client(smart_settings: Settings) -> FlaskClient:
    """A test client of the service (it keeps the launch and session cookies, like a browser)."""
    return create_app(smart_settings).test_client()


def _patient(fhir: FhirServer, patient_id: str) -> str:
    body = {"resourceType": "Patient", "id": patient_id, "name": [{"family": "Test"}]}
    requests.put(f"{fhir.base_url}/Patient/{patient_id}", json=body, headers=fhir.headers(), timeout=30)
    return patient_id


def _launch(client: FlaskClient, ehr: SmartEhr, patient_id: str) -> str:
    """Launch from the EHR and follow the redirect to its authorization server: the callback URL."""
    started = client.get(
        "/smart/launch", query_string={"iss": ehr.fhir_base, "launch": ehr.launch_for(patient_id)}
    )
    assert started.status_code == 302, started.get_data(as_text=True)
    assert started.headers["Cache-Control"] == "no-store"
    authorized = requests.get(started.headers["Location"], allow_redirects=False, timeout=30)
    assert authorized.status_code == 302, authorized.text
    assert authorized.headers["Location"].startswith(REDIRECT_URI)
    return authorized.headers["Location"]


def _callback(client: FlaskClient, url: str) -> Any:
    parts = urlsplit(url)
    return client.get(parts.path, query_string=parse_qs(parts.query))


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def _responses_for(fhir: FhirServer, patient_id: str) -> list[dict[str, Any]]:
    bundle = requests.get(
        f"{fhir.base_url}/QuestionnaireResponse", headers=fhir.headers(), params={"_count": 500}, timeout=30
    ).json()
    found = [e["resource"] for e in bundle.get("entry", []) if e.get("resource", {}).get("resourceType")]
    return [r for r in found if r.get("subject", {}).get("reference") == f"Patient/{patient_id}"]


def test_clinician_answers_in_the_smart_app_are_saved_in_the_patients_record(
    app_client: FlaskClient, ehr: SmartEhr, fhir_server: FhirServer, smart_settings: Settings
) -> None:
    patient = _patient(fhir_server, "smart-launch-a")
    callback = _launch(app_client, ehr, patient)

    sent = ehr.authorize_requests[-1]
    assert sent["code_challenge_method"] == "S256" and sent["code_challenge"]
    assert sent["aud"] == ehr.fhir_base and sent["launch"] in ehr.launches

    form = _callback(app_client, callback)
    page = form.get_data(as_text=True)
    assert form.status_code == 200, page
    assert form.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in form.headers["Content-Security-Policy"]
    assert 'name="saddle-anaesthesia" value="yes"' in page
    assert patient not in page  # no patient data on the page

    saved = app_client.post(
        "/smart/answers",
        data={"csrf_token": _csrf(page), "saddle-anaesthesia": "yes", "bladder-or-bowel-dysfunction": "no"},
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert "saddle anaesthesia \N{EN DASH} yes" in saved.get_data(as_text=True)

    stored = _responses_for(fhir_server, patient)
    assert len(stored) == 1
    response = stored[0]
    assert response["status"] == "completed"
    assert response["questionnaire"].startswith(questionnaire_url(smart_settings) + "|")
    answers = {item["linkId"]: item["answer"] for item in response["item"]}
    assert answers == {
        "saddle-anaesthesia": [{"valueBoolean": True}],
        "bladder-or-bowel-dysfunction": [{"valueBoolean": False}],
    }


def test_answers_are_saved_once_per_launch(
    app_client: FlaskClient, ehr: SmartEhr, fhir_server: FhirServer
) -> None:
    patient = _patient(fhir_server, "smart-launch-once")
    page = _callback(app_client, _launch(app_client, ehr, patient)).get_data(as_text=True)
    data = {"csrf_token": _csrf(page), "trauma": "no"}
    assert app_client.post("/smart/answers", data=data).status_code == 200
    again = app_client.post("/smart/answers", data=data)
    assert again.status_code == 400
    assert "already saved" in again.get_data(as_text=True)
    assert len(_responses_for(fhir_server, patient)) == 1


def test_a_callback_with_the_wrong_state_is_refused(app_client: FlaskClient, ehr: SmartEhr) -> None:
    callback = _launch(app_client, ehr, "smart-wrong-state")
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    refused = _callback(app_client, forged)
    assert refused.status_code == 400
    assert "state does not match" in refused.get_data(as_text=True)
    # The launch is spent: even the right state no longer works.
    assert _callback(app_client, callback).status_code == 400


def test_a_callback_in_a_browser_that_did_not_start_the_launch_is_refused(
    app_client: FlaskClient, ehr: SmartEhr, smart_settings: Settings
) -> None:
    callback = _launch(app_client, ehr, "smart-other-browser")
    other_browser = create_app(smart_settings).test_client()
    refused = _callback(other_browser, callback)
    assert refused.status_code == 400
    assert "launch the app again" in refused.get_data(as_text=True)


def test_the_authorization_server_refuses_a_code_exchange_without_the_pkce_verifier(
    app_client: FlaskClient, ehr: SmartEhr
) -> None:
    callback = _launch(app_client, ehr, "smart-no-verifier")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    exchanged = requests.post(
        f"{ehr.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,
        },
        timeout=30,
    )
    assert exchanged.status_code == 400
    assert "code_verifier" in exchanged.json().get("error_description", "")


def test_a_launch_whose_verifier_was_lost_is_refused_with_a_clear_page(
    app_client: FlaskClient, ehr: SmartEhr, smart_settings: Settings
) -> None:
    callback = _launch(app_client, ehr, "smart-lost-verifier")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    sealed = Sealer("smart-test-secret").seal(
        PendingLaunch(state=state, verifier="", iss=ehr.fhir_base, token_endpoint=f"{ehr.base_url}/token")
    )
    app_client.set_cookie(LAUNCH_COOKIE, sealed, path="/smart/", domain="localhost")
    refused = _callback(app_client, callback)
    assert refused.status_code == 400
    assert "PKCE" in refused.get_data(as_text=True)


def test_a_launch_from_a_fhir_server_not_allowlisted_is_refused(app_client: FlaskClient) -> None:
    refused = app_client.get(
        "/smart/launch", query_string={"iss": "https://ehr.example.net/fhir", "launch": "x"}
    )
    assert refused.status_code == 403
    assert "not one this service may use" in refused.get_data(as_text=True)
    assert LAUNCH_COOKIE not in refused.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("query", [{}, {"iss": "https://ehr.example.net/fhir"}, {"launch": "x"}])
def test_a_launch_without_its_parameters_is_refused(app_client: FlaskClient, query: dict[str, str]) -> None:
    refused = app_client.get("/smart/launch", query_string=query)
    assert refused.status_code == 400
    assert "<h1>" in refused.get_data(as_text=True)


def _form_page(app_client: FlaskClient, ehr: SmartEhr, fhir: FhirServer, patient: str) -> str:
    return _callback(app_client, _launch(app_client, ehr, _patient(fhir, patient))).get_data(as_text=True)


@pytest.mark.parametrize(
    "answers",
    [{"saddle-anaesthesia": "maybe"}, {"no-such-question": "yes"}, {}],
    ids=["not-yes-or-no", "unknown-question", "nothing-answered"],
)
def test_bad_answers_are_refused_and_nothing_is_written(
    app_client: FlaskClient, ehr: SmartEhr, fhir_server: FhirServer, answers: dict[str, str]
) -> None:
    patient = f"smart-bad-{len(ehr.launches)}"
    page = _form_page(app_client, ehr, fhir_server, patient)
    refused = app_client.post("/smart/answers", data={"csrf_token": _csrf(page), **answers})
    assert refused.status_code == 400
    assert _responses_for(fhir_server, patient) == []


def test_answers_without_the_csrf_token_are_refused(
    app_client: FlaskClient, ehr: SmartEhr, fhir_server: FhirServer
) -> None:
    _form_page(app_client, ehr, fhir_server, "smart-no-csrf")
    refused = app_client.post("/smart/answers", data={"csrf_token": "forged", "trauma": "yes"})
    assert refused.status_code == 400
    assert "CSRF" in refused.get_data(as_text=True)
    assert _responses_for(fhir_server, "smart-no-csrf") == []
