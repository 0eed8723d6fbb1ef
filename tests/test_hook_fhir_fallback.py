"""Whole hook calls that read the record from a real FHIR server (sekmet-fhir) instead of prefetch:
the answer must be the one the same record gives when prefetched, and the HTTP errors (403, 412)
must carry an OperationOutcome."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service import Settings, create_app
from cds_service.samples import expected_pathway, request_from_bundle, sample_files
from tests.check_loop import check_links_read
from tests.fixtures.fhir_server import FhirServer
from tests.servers import free_port

SAMPLES = sample_files(Path(__file__).resolve().parent.parent / "sample_bundles")


def client_for(tmp_path: Path, *servers: str) -> FlaskClient:
    settings = Settings(
        auth="off",
        database_url=f"sqlite:///{tmp_path / 'log.sqlite'}",
        fhir_servers=list(servers),
        fetch_deadline_seconds=5,  # a loaded CI machine must not turn this test into a timeout test
    )
    return create_app(settings).test_client()


def put_record(server: FhirServer, bundle: dict[str, Any], request: dict[str, Any]) -> None:
    """Store the sample's record (not its draft orders) on the FHIR server under the same ids."""
    drafts = {
        (e["resource"]["resourceType"], e["resource"]["id"])
        for e in request["context"]["draftOrders"]["entry"]
    }
    entries = []
    for entry in bundle["entry"]:
        res = entry["resource"]
        if (res["resourceType"], res["id"]) in drafts:
            continue
        entries.append(
            {"resource": res, "request": {"method": "PUT", "url": f"{res['resourceType']}/{res['id']}"}}
        )
    server.load_transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})


def service_url(request: dict[str, Any]) -> str:
    return f"/cds-services/spinal-imaging-{request['hook']}"


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_a_record_read_from_the_fhir_server_gets_the_same_advice_as_when_prefetched(
    fhir_server: FhirServer, tmp_path: Path, sample: Path
) -> None:
    bundle = json.loads(sample.read_text(encoding="utf-8"))
    prefetched = request_from_bundle(bundle)
    put_record(fhir_server, bundle, prefetched)
    fetched = copy.deepcopy(prefetched)
    del fetched["prefetch"]
    fetched["fhirServer"] = fhir_server.base_url
    client = client_for(tmp_path, fhir_server.base_url)

    with_prefetch = client.post(service_url(prefetched), json=prefetched)
    with_fetch = client.post(service_url(fetched), json=fetched)

    assert with_prefetch.status_code == with_fetch.status_code == 200
    assert check_links_read(with_fetch.get_json()) == check_links_read(with_prefetch.get_json())
    if expected_pathway(bundle) not in (None, "no-decision"):
        assert with_fetch.get_json()["systemActions"]


def spinal_call_without_prefetch(fhir_server: str) -> dict[str, Any]:
    bundle = json.loads(SAMPLES[0].read_text(encoding="utf-8"))
    request = request_from_bundle(bundle)
    del request["prefetch"]
    request["fhirServer"] = fhir_server
    return request


def test_a_fhir_server_not_allowlisted_gets_a_403_operation_outcome(tmp_path: Path) -> None:
    request = spinal_call_without_prefetch("https://ehr.example.org/fhir")
    resp = client_for(tmp_path, "https://other.example.org/fhir").post(service_url(request), json=request)
    assert resp.status_code == 403
    assert resp.get_json()["resourceType"] == "OperationOutcome"
    assert "SPINE_CDS_FHIR_SERVERS" in resp.get_json()["issue"][0]["diagnostics"]


def test_a_fhir_server_that_is_down_gets_a_412_naming_the_missing_keys(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/fhir"
    request = spinal_call_without_prefetch(down)
    resp = client_for(tmp_path, down).post(service_url(request), json=request)
    assert resp.status_code == 412
    issue = resp.get_json()["issue"][0]
    assert issue["code"] == "processing"
    assert "'patient'" in issue["diagnostics"] and "'conditions'" in issue["diagnostics"]
