"""`spine-cds request FILE` prints the hook request for a sample, ready for `curl -d @-`."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from cds_service.cards.decision_extension import read_decision
from cds_service.cli import main
from cds_service.settings import Settings
from tests.conftest import SAMPLES

METASTASES = SAMPLES / "03-xray-for-suspected-metastases.json"


def printed_request(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["request", *argv]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out)


def test_the_printed_request_for_an_xray_for_suspected_metastases_gets_the_urgent_mri_card(
    capsys: pytest.CaptureFixture[str], client: FlaskClient, settings: Settings
) -> None:
    request = printed_request(capsys, str(METASTASES))
    response = client.post(
        "/cds-services/spinal-imaging-order-select",
        data=json.dumps(request),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert "MRI" in body["cards"][0]["summary"]
    decision = read_decision(body["systemActions"][0]["resource"], settings)
    assert decision is not None and decision["pathway"] == "urgent-mri-suspected-cancer"


def test_the_order_sign_request_has_no_selections_and_names_its_service(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["request", str(METASTASES), "--hook", "order-sign"]) == 0
    captured = capsys.readouterr()
    request = json.loads(captured.out)
    assert request["hook"] == "order-sign"
    assert "selections" not in request["context"]
    assert "/cds-services/spinal-imaging-order-sign" in captured.err


def test_each_call_gets_its_own_hook_instance(capsys: pytest.CaptureFixture[str]) -> None:
    first = printed_request(capsys, str(METASTASES))
    second = printed_request(capsys, str(METASTASES))
    assert first["hookInstance"] != second["hookInstance"]


def test_a_file_that_is_not_a_sample_is_refused_with_the_reason_and_prints_nothing(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_json = tmp_path / "notes.txt"
    not_json.write_text("back pain, no red flags")
    assert main(["request", str(not_json)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cannot read JSON" in captured.err
