"""The clinician's answers read back from the EHR's QuestionnaireResponses: only this patient's,
only recent, only completed, only to our Questionnaire; the latest answer to a question wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from cds_service import Settings
from cds_service.check.questionnaire import build_questionnaire
from cds_service.fhir.load import load_patient_record
from cds_service.fhir.queries import QUESTIONNAIRE_RESPONSES_KEY
from cds_service.fhir.questionnaire_answers import combined
from cds_service.fhir.record import PatientRecord
from cds_service.hooks.services import declare_services
from cds_service.knowledge import load_knowledge
from cds_service.rules.answers import ClinicianAnswers
from cds_service.rules.model import RedFlagId
from cds_service.smart.hook_answers import ehr_answers, with_ehr_answers
from cds_service.smart.questionnaire import questionnaire_response
from tests.fixtures.fhir_server import FhirServer

SADDLE = RedFlagId.SADDLE_ANAESTHESIA
BLADDER = RedFlagId.BLADDER_OR_BOWEL_DYSFUNCTION
NOW = datetime.now(UTC)


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(auth="off", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", **overrides)


def _response(
    settings: Settings, patient: str, answers: dict[RedFlagId, str], *, minutes_ago: float = 5, **changes: Any
) -> dict[str, Any]:
    form = build_questionnaire(settings, load_knowledge())
    made = questionnaire_response(
        form,
        answers,
        patient_id=patient,
        authored=datetime.now(UTC) - timedelta(minutes=minutes_ago),  # type: ignore[arg-type]
    )
    return made | changes


def _record(responses: tuple[dict[str, Any], ...] | None) -> PatientRecord:
    record = PatientRecord.from_resources(None, [], as_of=NOW.date())
    record.questionnaire_responses = responses
    return record


def _answers(
    settings: Settings, *responses: dict[str, Any], patient: str = "pat-a"
) -> ClinicianAnswers | None:
    return ehr_answers(_record(responses), patient_id=patient, settings=settings)


def test_a_yes_to_saddle_anaesthesia_given_in_the_ehr_is_read_with_its_time(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    response = _response(settings, "pat-a", {SADDLE: "yes", BLADDER: "no"}, minutes_ago=10)
    found = _answers(settings, response)
    assert found is not None
    assert found.answers == {SADDLE: "yes", BLADDER: "no"}
    assert found.answered_at == datetime.fromisoformat(response["authored"])
    assert "stated by the clinician in the red-flag check" in found.stated_evidence(SADDLE).what


def test_answers_given_for_another_patient_never_reach_this_patients_decision(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    other = _response(settings, "pat-b", {SADDLE: "yes"})
    no_subject = _response(settings, "pat-a", {SADDLE: "yes"})
    del no_subject["subject"]
    assert _answers(settings, other, no_subject, patient="pat-a") is None


def test_answers_older_than_the_window_are_never_used(tmp_path: Path) -> None:
    settings = _settings(tmp_path, answers_valid_minutes=60)
    assert _answers(settings, _response(settings, "pat-a", {SADDLE: "no"}, minutes_ago=61)) is None
    assert _answers(settings, _response(settings, "pat-a", {SADDLE: "no"}, minutes_ago=59)) is not None


@pytest.mark.parametrize(
    ("changes", "used"),
    [
        ({"status": "in-progress"}, False),
        ({"status": "entered-in-error"}, False),
        ({"status": "amended"}, True),
        ({"questionnaire": "https://other.example.org/Questionnaire/phq-9"}, False),
        ({"questionnaire": "https://spine-cds.example.org/fhir/Questionnaire/spinal-red-flags"}, True),
        ({"authored": "2026-12-06"}, False),  # no time of day: cannot be placed in the window
        ({"subject": {"reference": "https://ehr.example.org/fhir/Patient/pat-a"}}, True),
        ({"subject": {"reference": "Group/pat-a"}}, False),
    ],
)
def test_only_completed_responses_to_our_questionnaire_about_this_patient_count(
    tmp_path: Path, changes: dict[str, Any], used: bool
) -> None:
    settings = _settings(tmp_path)
    response = _response(settings, "pat-a", {SADDLE: "yes"}, **changes)
    assert (_answers(settings, response) is not None) is used


def test_a_response_dated_in_the_future_is_not_used(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert _answers(settings, _response(settings, "pat-a", {SADDLE: "no"}, minutes_ago=-30)) is None


def test_the_latest_answer_to_each_question_wins(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    earlier = _response(settings, "pat-a", {SADDLE: "no", BLADDER: "no"}, minutes_ago=30)
    later = _response(settings, "pat-a", {SADDLE: "yes"}, minutes_ago=5)
    found = _answers(settings, later, earlier)  # order on the server does not matter
    assert found is not None
    assert found.answers == {SADDLE: "yes", BLADDER: "no"}
    assert found.time_of(BLADDER) < found.time_of(SADDLE) == found.answered_at


def test_a_boolean_answer_counts_and_an_unclear_one_does_not(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    response = _response(settings, "pat-a", {})
    response["item"] = [
        {"linkId": SADDLE.value, "answer": [{"valueBoolean": True}]},
        {"linkId": BLADDER.value, "answer": [{"valueBoolean": True}, {"valueBoolean": False}]},
        {"linkId": "history-of-cancer", "answer": [{"valueBoolean": True}]},  # not one of our questions
    ]
    found = _answers(settings, response)
    assert found is not None
    assert found.answers == {SADDLE: "yes"}


def test_unreadable_ehr_answers_are_named_only_when_the_smart_app_is_in_use(tmp_path: Path) -> None:
    assert _answers(_settings(tmp_path)) is None  # nothing to read
    assert ehr_answers(_record(None), patient_id="pat-a", settings=_settings(tmp_path)) is None
    with_smart = _settings(tmp_path, smart_client_id="spine-cds")
    unread = ehr_answers(_record(None), patient_id="pat-a", settings=with_smart)
    assert unread is not None and unread.unreadable


def test_answers_from_the_check_page_and_from_the_ehr_combine_the_later_winning() -> None:
    page = ClinicianAnswers(answers={SADDLE: "no", BLADDER: "no"}, answered_at=NOW - timedelta(minutes=20))
    ehr = ClinicianAnswers(answers={SADDLE: "yes"}, answered_at=NOW - timedelta(minutes=5))
    both = combined(page, ehr)
    assert both is not None
    assert both.answers == {SADDLE: "yes", BLADDER: "no"}
    reversed_order = combined(ehr, page)
    assert reversed_order is not None and reversed_order.answers == both.answers
    assert combined(None, ehr) is ehr and combined(page, None) is page


def test_the_ehr_answers_apply_to_every_spinal_order_of_the_call() -> None:
    ehr = ClinicianAnswers(answers={SADDLE: "yes"}, answered_at=NOW)

    class Order:
        def __init__(self, reference: str) -> None:
            self.reference = reference

    orders = [Order("ServiceRequest/a"), Order("ServiceRequest/b")]
    found = with_ehr_answers(None, ehr)(orders)  # type: ignore[arg-type]
    assert set(found) == {"ServiceRequest/a", "ServiceRequest/b"}
    assert with_ehr_answers(None, None)(orders) == {}  # type: ignore[arg-type]


# --- against the real FHIR server ---------------------------------------------------------------


def _put_patient(fhir: FhirServer, patient_id: str) -> None:
    body = {"resourceType": "Patient", "id": patient_id, "birthDate": "1960-01-01"}
    resp = requests.put(
        f"{fhir.base_url}/Patient/{patient_id}", json=body, headers=fhir.headers(), timeout=30
    )
    resp.raise_for_status()


def _post(fhir: FhirServer, resource: dict[str, Any]) -> None:
    resp = requests.post(
        f"{fhir.base_url}/QuestionnaireResponse", json=resource, headers=fhir.headers(), timeout=30
    )
    assert resp.status_code == 201, resp.text


@pytest.mark.fhir_server
def test_the_fhir_fallback_reads_this_patients_recent_answers_from_the_fhir_server(
    tmp_path: Path, fhir_server: FhirServer
) -> None:
    settings = _settings(tmp_path, fhir_servers=[fhir_server.base_url], smart_client_id="spine-cds")
    for patient in ("qr-fallback-a", "qr-fallback-b"):
        _put_patient(fhir_server, patient)
    _post(fhir_server, _response(settings, "qr-fallback-a", {SADDLE: "yes"}, minutes_ago=3))
    _post(fhir_server, _response(settings, "qr-fallback-a", {BLADDER: "yes"}, minutes_ago=300))  # too old
    _post(fhir_server, _response(settings, "qr-fallback-b", {BLADDER: "yes"}, minutes_ago=1))  # not hers

    services = declare_services(load_knowledge(), settings)
    record = load_patient_record(
        context={"patientId": "qr-fallback-a"},
        prefetch={},  # nothing prefetched: every key comes from the FHIR server
        fhir_server=fhir_server.base_url,
        access_token=None,
        settings=settings,
        templates=services[0].prefetch,
    )
    assert record.questionnaire_responses is not None
    found = ehr_answers(record, patient_id="qr-fallback-a", settings=settings)
    assert found is not None
    assert found.answers == {SADDLE: "yes"}


def test_a_prefetched_response_about_another_patient_is_never_used(tmp_path: Path) -> None:
    settings = _settings(tmp_path, smart_client_id="spine-cds")
    other = _response(settings, "pat-b", {SADDLE: "yes"})
    prefetch = {
        "patient": {"resourceType": "Patient", "id": "pat-a"},
        "conditions": None,
        QUESTIONNAIRE_RESPONSES_KEY: {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": other}],
        },
    }
    record = load_patient_record(
        context={"patientId": "pat-a"},
        prefetch=prefetch,
        fhir_server=None,
        access_token=None,
        settings=settings,
        templates=declare_services(load_knowledge(), settings)[0].prefetch,
    )
    assert record.questionnaire_responses == (other,)
    assert ehr_answers(record, patient_id="pat-a", settings=settings) is None


def test_a_written_response_is_valid_fhir_r4(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    QuestionnaireResponse.model_validate(_response(settings, "pat-a", {SADDLE: "yes", BLADDER: "no"}))


def test_a_coded_yes_no_answer_from_an_ehr_form_is_read_too(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    response = _response(settings, "pat-a", {SADDLE: "yes", BLADDER: "no"})
    yes_no = "http://terminology.hl7.org/CodeSystem/v2-0136"
    response["item"][0]["answer"] = [{"valueCoding": {"system": yes_no, "code": "Y"}}]
    response["item"][1]["answer"] = [{"valueCoding": {"system": yes_no, "code": "N"}}]
    found = _answers(settings, response)
    assert found is not None and found.answers == {SADDLE: "yes", BLADDER: "no"}
