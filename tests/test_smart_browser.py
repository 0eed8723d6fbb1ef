"""The SMART app in Chromium through the real server (`spine-cds serve`): the EHR launches it, the
clinician answers, the answers land in the FHIR server for the launch's patient."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.fixtures.browser import axe_violations, save_screenshot
from tests.fixtures.fhir_server import FhirServer
from tests.servers import RunningServer, spine_cds_serve
from tests.smart_ehr import CLIENT_ID, SmartEhr, running_ehr

pytestmark = pytest.mark.fhir_server


@pytest.fixture(scope="module")
def ehr_and_app(
    fhir_server: FhirServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SmartEhr, RunningServer]]:
    """The EHR double and the service, registered with it as a SMART app."""
    with running_ehr(fhir_server) as ehr:
        env = {
            "SPINE_CDS_AUTH": "off",
            "SPINE_CDS_FHIR_SERVERS": ehr.fhir_base,
            "SPINE_CDS_SMART_CLIENT_ID": CLIENT_ID,
            "SPINE_CDS_SECRET_KEY": "smart-browser-test-secret",
        }
        with spine_cds_serve(tmp_path_factory.mktemp("smart-serve"), env) as app:
            ehr.redirect_uri = f"{app.url}/smart/callback"
            yield ehr, app


def _stored(fhir: FhirServer, patient_id: str) -> list[dict[str, Any]]:
    bundle = requests.get(
        f"{fhir.base_url}/QuestionnaireResponse", params={"_count": 500}, headers=fhir.headers(), timeout=30
    ).json()
    resources = [e.get("resource", {}) for e in bundle.get("entry", [])]
    return [r for r in resources if r.get("subject", {}).get("reference") == f"Patient/{patient_id}"]


def _open_from_the_ehr(page: Any, ehr: SmartEhr, app: RunningServer, patient_id: str) -> None:
    launch = ehr.launch_for(patient_id)
    page.goto(f"{app.url}/smart/launch?iss={ehr.fhir_base}&launch={launch}")
    assert page.url.startswith(f"{app.url}/smart/callback")


def test_a_gp_answers_in_the_smart_app_and_the_answers_are_in_the_record(
    page: Any, ehr_and_app: tuple[SmartEhr, RunningServer], fhir_server: FhirServer
) -> None:
    ehr, app = ehr_and_app
    _open_from_the_ehr(page, ehr, app, "smart-browser-a")
    assert page.get_by_role("heading", level=1).inner_text() == "Spinal red-flag questions"
    assert axe_violations(page) == []
    page.get_by_role("group", name="numbness in the saddle area").get_by_label("No").check()
    page.get_by_role("group", name="loss of bladder or bowel control").get_by_label("Yes").check()
    save_screenshot(page, "smart-questions")  # docs/screenshots/smart-questions.png is a copy
    page.get_by_role("button", name="Save in the record").click()
    assert "Answers saved" in page.get_by_role("heading", level=1).inner_text()
    assert axe_violations(page) == []
    notes = page.get_by_label("Copy to the clinical notes").input_value()
    assert "saddle anaesthesia \N{EN DASH} no" in notes

    stored = _stored(fhir_server, "smart-browser-a")
    assert len(stored) == 1
    answered = {i["linkId"]: i["answer"][0]["valueBoolean"] for i in stored[0]["item"]}
    assert answered == {"saddle-anaesthesia": False, "bladder-or-bowel-dysfunction": True}


def test_the_smart_app_works_without_javascript(
    page_without_javascript: Any, ehr_and_app: tuple[SmartEhr, RunningServer], fhir_server: FhirServer
) -> None:
    ehr, app = ehr_and_app
    page = page_without_javascript
    _open_from_the_ehr(page, ehr, app, "smart-browser-nojs")
    page.get_by_role("group", name="numbness in the saddle area").get_by_label("Yes").check()
    page.get_by_role("button", name="Save in the record").click()
    assert "Answers saved" in page.get_by_role("heading", level=1).inner_text()
    assert len(_stored(fhir_server, "smart-browser-nojs")) == 1
