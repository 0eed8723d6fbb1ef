"""The red-flag check is counted: in /metrics, in the log (without free text), in `spine-cds report`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cds_service import Settings, create_app
from cds_service.cli import main
from tests.check_loop import check_link, lumbar_mri_call, path_of, read_form, refired

SELECT_URL = "/cds-services/spinal-imaging-order-select"


def answer(client: FlaskClient, answers: dict[str, str], patient: str) -> None:
    call = lumbar_mri_call(patient)
    link = path_of(check_link(client.post(SELECT_URL, json=call).get_json()) or "")
    form = read_form(client.get(link).get_data(as_text=True))
    assert client.post(link, data={"csrf_token": form.csrf_token, **answers}).status_code == 200
    assert client.post(SELECT_URL, json=refired(call)).status_code == 200


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'spine-cds.sqlite'}"


@pytest.fixture
def client(database_url: str) -> FlaskClient:
    settings = Settings(auth="off", database_url=database_url, patient_hash_key="k", secret_key="s")
    return create_app(settings).test_client()


def test_the_report_says_how_often_each_question_was_answered_and_how_often_the_pathway_changed(
    client: FlaskClient, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    answer(client, {"saddle-anaesthesia": "yes"}, "patient-1")
    answer(client, {"saddle-anaesthesia": "no", "trauma": "no"}, "patient-2")
    capsys.readouterr()

    assert main(["report", "--database-url", database_url, "--json"]) == 0
    check = json.loads(capsys.readouterr().out)["redFlagCheck"]
    assert check["answerSets"] == 2
    assert {"question": "saddle-anaesthesia", "yes": 1, "no": 1} in check["questions"]
    assert {"question": "trauma", "yes": 0, "no": 1} in check["questions"]
    assert check["decisionsWithAnswers"] == 2
    assert check["pathwayChanged"] == 1
    assert check["changes"] == [
        {"withoutAnswers": "imaging-not-indicated", "withAnswers": "emergency-department", "decisions": 1}
    ]

    assert main(["report", "--database-url", database_url]) == 0
    text = capsys.readouterr().out
    assert "Red-flag check" in text
    assert "imaging-not-indicated -> emergency-department" in text


def test_answers_are_counted_in_metrics_and_logged_as_codes_only(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cds_service.check"):
        answer(client, {"bladder-or-bowel-dysfunction": "yes"}, "patient-with-a-name")
    (logged,) = [r for r in caplog.records if r.getMessage() == "red-flag check answered"]
    assert logged.answers == {"bladder-or-bowel-dysfunction": "yes"}  # type: ignore[attr-defined]
    assert logged.consult_id.startswith("urn:uuid:")  # type: ignore[attr-defined]
    assert "patient-with-a-name" not in caplog.text
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'spine_cds_check_answers_total{answer="yes",question="bladder-or-bowel-dysfunction"}' in metrics
    assert 'spine_cds_check_answer_sets_total{changed_pathway="yes"}' in metrics
