"""Sample bundles become the requests real EHRs send; `spine-cds evaluate` reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service.cli import main
from cds_service.fhir.queries import PREFETCH_TEMPLATES
from cds_service.samples import SampleError, load_sample, request_from_bundle
from tests.conftest import SAMPLES

METASTASES = SAMPLES / "03-xray-for-suspected-metastases.json"
STEROID_DRAFT = SAMPLES / "08-long-term-prednisolone-osteoporosis-xray.json"


def test_a_sample_becomes_an_order_select_request_shaped_like_a_real_clients() -> None:
    request = load_sample(METASTASES).request
    assert request["hook"] == "order-select"
    context = request["context"]
    assert context["patientId"] == "prostate-mets-1"
    assert context["selections"] == ["ServiceRequest/xr-prostate-1"]
    assert "type" not in context["draftOrders"]  # real clients leave it out
    assert set(request["prefetch"]) == set(PREFETCH_TEMPLATES)
    assert request["prefetch"]["patient"]["resourceType"] == "Patient"
    assert request["prefetch"]["conditions"]["type"] == "searchset"
    assert request["prefetch"]["medicationStatements"] is None  # nothing matched: null, not left out


def test_a_draft_prescription_travels_as_a_draft_order_not_as_record() -> None:
    request = load_sample(STEROID_DRAFT).request
    drafts = [e["resource"]["id"] for e in request["context"]["draftOrders"]["entry"]]
    assert drafts == ["xr-pred-long-1", "pred-draft"]
    record_ids = [e["resource"]["id"] for e in request["prefetch"]["medicationRequests"]["entry"]]
    assert record_ids == ["pred-daily"]
    assert request["context"]["selections"] == ["ServiceRequest/xr-pred-long-1"]


def test_order_sign_requests_have_no_selections() -> None:
    request = load_sample(METASTASES, hook="order-sign").request
    assert request["hook"] == "order-sign"
    assert "selections" not in request["context"]


def test_every_hook_call_gets_a_fresh_hook_instance() -> None:
    bundle = json.loads(METASTASES.read_text("utf-8"))
    assert request_from_bundle(bundle)["hookInstance"] != request_from_bundle(bundle)["hookInstance"]


def test_a_cds_hooks_request_file_is_used_as_it_is(tmp_path: Path) -> None:
    request = load_sample(METASTASES).request
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), "utf-8")
    again = load_sample(path)
    assert again.request == request
    assert again.expected is None


def test_a_file_that_is_neither_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.json"
    path.write_text('{"resourceType": "Patient"}', "utf-8")
    with pytest.raises(SampleError):
        load_sample(path)


def test_evaluate_prints_the_order_and_its_decision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(SAMPLES / "14-knee-mri.json")]) == 0
    out = capsys.readouterr().out
    assert "ServiceRequest/mri-knee-1" in out
    assert "not spinal imaging" in out


def test_evaluate_json_prints_the_raw_response(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--json", str(SAMPLES / "14-knee-mri.json")]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :]) == {"cards": []}


def test_evaluate_explains_a_decision_as_a_clinician_reads_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(METASTASES)]) == 0
    out = capsys.readouterr().out
    assert "Decision  urgent-mri-suspected-cancer" in out
    assert "Past history of carcinoma" in out
    assert "[WARNING]" in out
    assert "Button: " in out


def test_evaluate_refuses_an_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{", "utf-8")
    assert main(["evaluate", str(path)]) == 1
    assert "cannot read JSON" in capsys.readouterr().out
