"""What an operator sees: health and readiness probes, Prometheus metrics, request ids, JSON logs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service import Settings, create_app
from tests.store_samples import PATIENT_ID

TOKEN = "eyJhbGciOiJFUzM4NCJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens once the probe is closed


def _order_select_call() -> dict[str, Any]:
    order = {
        "resourceType": "ServiceRequest",
        "id": "mri-1",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }
    return {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/gp-1",
            "patientId": PATIENT_ID,
            "selections": ["ServiceRequest/mri-1"],
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
        },
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": "1950-01-01"},
            "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": []},
        },
    }


def test_healthz_says_alive(client: FlaskClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.get_json() == {"status": "ok"}


def test_readyz_is_ready_when_knowledge_and_database_are_up(client: FlaskClient) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.get_json()["checks"] == {"knowledge": "ok", "database": "ok"}


def test_readyz_is_503_with_an_operation_outcome_when_the_database_is_down() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/spine"
    client = create_app(Settings(auth="off", database_url=url)).test_client()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert "database" in body["issue"][0]["details"]["text"]
    assert client.get("/healthz").status_code == 200  # alive, just not ready


def test_metrics_expose_latency_by_service_and_status_and_feedback_counts(client: FlaskClient) -> None:
    item = {
        "card": str(uuid.uuid4()),
        "outcome": "overridden",
        "overrideReason": {"reason": {"system": "urn:x", "code": "other", "display": "Other"}},
        "outcomeTimestamp": "2026-11-20T10:15:00Z",
    }
    assert (
        client.post("/cds-services/spinal-imaging-order-sign/feedback", json={"feedback": [item]}).status_code
        == 200
    )
    client.post("/cds-services/no-such-service", json={})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'spine_cds_request_seconds_count{service="spinal-imaging-order-sign",status="200"}' in text
    assert 'spine_cds_feedback_items_total{outcome="overridden"}' in text
    assert "no-such-service" not in text  # unknown ids never become metric labels
    assert 'service="/cds-services/<service_id>",status="404"' in text


def test_request_id_is_echoed_when_sane_and_generated_otherwise(client: FlaskClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "ehr-42.a"}).headers["X-Request-ID"] == "ehr-42.a"
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    for hostile in ('x" {"level": "forged"}', "a" * 500):
        assert client.get("/healthz", headers={"X-Request-ID": hostile}).headers["X-Request-ID"] != hostile


def test_log_lines_are_json_with_no_patient_id_and_no_token(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.post(
        "/cds-services/spinal-imaging-order-select",
        json=_order_select_call(),
        headers={"Authorization": f"Bearer {TOKEN}", "X-Request-ID": "req-1"},
    )
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    access = [e for e in entries if e["logger"] == "cds_service.access"]
    assert len(access) == 1
    assert access[0]["method"] == "POST"
    assert access[0]["route"] == "/cds-services/<service_id>"
    assert access[0]["service"] == "spinal-imaging-order-select"
    assert access[0]["request_id"] == "req-1"
    assert isinstance(access[0]["status"], int) and access[0]["duration_ms"] >= 0
    for line in lines:
        assert PATIENT_ID not in line and TOKEN not in line


def test_missing_patient_hash_key_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_app(Settings(auth="off", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"))
    warnings = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if "PATIENT_HASH_KEY" in line
    ]
    assert warnings and warnings[0]["level"] == "WARNING"


def test_metrics_add_up_every_worker_in_multiprocess_mode(tmp_path: Path) -> None:
    # Two processes (as two gunicorn workers) each answer a request; /metrics in a third sums them.
    script = (
        "import sys\n"
        "from cds_service import Settings, create_app\n"
        f"app = create_app(Settings(auth='off', database_url='sqlite:///{tmp_path}/db.sqlite'))\n"
        "client = app.test_client()\n"
        "client.get('/healthz')\n"
        "if sys.argv[1] == 'scrape':\n"
        "    print(client.get('/metrics').get_data(as_text=True))\n"
    )
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    for role in ("serve", "serve", "scrape"):
        done = subprocess.run(
            [sys.executable, "-c", script, role],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    assert 'spine_cds_request_seconds_count{service="/healthz",status="200"} 3.0' in done.stdout
