"""Feedback is never lost and never doubled; advice never waits on the database."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from prometheus_client import REGISTRY

from cds_service import Settings, create_app
from cds_service.cli import main
from cds_service.store import get_store, tables
from tests.fixtures.postgres import PostgresCluster, remove_cluster, start_cluster
from tests.store_samples import (
    accepted,
    log_signed,
    lumbar_mri_decision,
    overridden,
    stored_feedback,
)

FEEDBACK_URL = "/cds-services/spinal-imaging-order-sign/feedback"


@pytest.fixture
def postgres_app(postgres_url: str) -> Flask:
    """An app logging to a fresh PostgreSQL database."""
    return create_app(Settings(auth="off", database_url=postgres_url, patient_hash_key="k"))


@pytest.fixture
def outage_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of its own, which the test may stop and start (a real outage)."""
    cluster = start_cluster()
    yield cluster
    remove_cluster(cluster)


def test_many_concurrent_feedback_posts_are_all_stored_exactly_once(postgres_app: Flask) -> None:
    decisions = [lumbar_mri_decision() for _ in range(30)]
    items = [accepted(d) for d in decisions] + [overridden(d) for d in decisions[:10]]
    statuses: list[int] = []
    lock = threading.Lock()

    def ehr(seed: int) -> None:
        # Each EHR thread sends every item, in its own order and batch sizes: all overlap.
        client = postgres_app.test_client()
        mine = list(items)
        random.Random(seed).shuffle(mine)
        while mine:
            batch, mine = mine[: seed % 4 + 1], mine[seed % 4 + 1 :]
            status = client.post(FEEDBACK_URL, json={"feedback": batch}).status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=ehr, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert set(statuses) == {200}
    rows = stored_feedback(postgres_app)
    assert len(rows) == len(items)
    assert sorted((r.card_uuid, r.outcome) for r in rows) == sorted((i["card"], i["outcome"]) for i in items)


def test_the_same_item_posted_twice_is_stored_once(client: Any, app: Flask) -> None:
    item = overridden(lumbar_mri_decision(), comment="patient declined")
    assert client.post(FEEDBACK_URL, json={"feedback": [item]}).status_code == 200
    assert client.post(FEEDBACK_URL, json={"feedback": [item]}).status_code == 200
    [row] = stored_feedback(app)
    assert row.outcome == "overridden" and row.has_comment


def test_feedback_while_the_database_is_down_gets_503_and_the_retry_is_kept(
    outage_cluster: PostgresCluster,
) -> None:
    app = create_app(Settings(auth="off", database_url=outage_cluster.url, patient_hash_key="k"))
    client = app.test_client()
    before, during = accepted(lumbar_mri_decision()), overridden(lumbar_mri_decision())
    assert client.post(FEEDBACK_URL, json={"feedback": [before]}).status_code == 200

    outage_cluster.stop()
    answer = client.post(FEEDBACK_URL, json={"feedback": [during]})
    assert answer.status_code == 503
    assert answer.get_json()["resourceType"] == "OperationOutcome"
    assert client.get("/readyz").status_code == 503

    outage_cluster.start()
    assert client.post(FEEDBACK_URL, json={"feedback": [during]}).status_code == 200  # the EHR's retry
    assert {row.card_uuid for row in stored_feedback(app)} == {before["card"], during["card"]}
    assert client.get("/readyz").status_code == 200


def _mri_lumbar_order_select() -> dict[str, Any]:
    order = {
        "resourceType": "ServiceRequest",
        "id": "mri-1",
        "status": "draft",
        "intent": "order",
        "code": {
            "coding": [
                {
                    "system": "http://www.ama-assn.org/go/cpt",
                    "code": "72148",
                    "display": "MRI lumbar spine without contrast",
                }
            ]
        },
        "subject": {"reference": "Patient/p1"},
    }
    return {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/gp-1",
            "patientId": "p1",
            "selections": ["ServiceRequest/mri-1"],
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
        },
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01", "gender": "female"},
            "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": []},
            "medicationRequests": {"resourceType": "Bundle", "type": "searchset", "entry": []},
            "medicationStatements": {"resourceType": "Bundle", "type": "searchset", "entry": []},
            "observations": {"resourceType": "Bundle", "type": "searchset", "entry": []},
            "procedures": {"resourceType": "Bundle", "type": "searchset", "entry": []},
        },
    }


def test_advice_is_still_given_when_the_decision_log_is_down(outage_cluster: PostgresCluster) -> None:
    app = create_app(Settings(auth="off", database_url=outage_cluster.url, patient_hash_key="k"))
    client = app.test_client()
    outage_cluster.stop()
    before = _store_failures("log_decisions")
    answer = client.post("/cds-services/spinal-imaging-order-select", json=_mri_lumbar_order_select())
    assert answer.status_code == 200
    [card] = answer.get_json()["cards"]  # no red flags: the brake on routine imaging, as usual
    assert card["indicator"] == "warning"
    assert _store_failures("log_decisions") == before + 1


def _store_failures(operation: str) -> float:
    return REGISTRY.get_sample_value("spine_cds_store_failures_total", {"operation": operation}) or 0.0


def test_decision_log_outage_is_counted_not_raised(outage_cluster: PostgresCluster) -> None:
    app = create_app(Settings(auth="off", database_url=outage_cluster.url, patient_hash_key="k"))
    outage_cluster.stop()
    before = _store_failures("log_decisions")
    decision = lumbar_mri_decision()
    for _ in range(2):  # the second call, inside the pause, does not wait for the database
        log_signed(get_store(app), decision, hook_instance="i-1", patient_id="p1")
    assert _store_failures("log_decisions") == before + 2


def test_gp_overriding_a_no_red_flags_card_shows_in_the_report(
    postgres_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    client = postgres_app.test_client()
    answer = client.post("/cds-services/spinal-imaging-order-select", json=_mri_lumbar_order_select())
    [card] = answer.get_json()["cards"]
    with get_store(postgres_app).engine.connect() as connection:
        [decision] = connection.execute(sa.select(tables.decisions)).all()
    assert decision.card_uuid == card["uuid"] and decision.pathway == "imaging-not-indicated"
    assert decision.suggestion_uuids == [s["uuid"] for s in card["suggestions"]]
    # The id is kept only as HMAC-SHA256 under the operator's key ("k"), never in clear.
    assert decision.patient_hash == hmac.new(b"k", b"p1", hashlib.sha256).hexdigest()

    reason = card["overrideReasons"][0]
    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": reason, "userComment": "seen privately last week"},
        "outcomeTimestamp": "2026-11-20T10:16:00Z",
    }
    assert client.post(FEEDBACK_URL, json={"feedback": [item]}).status_code == 200

    url = get_store(postgres_app).engine.url.render_as_string(hide_password=False)
    capsys.readouterr()
    assert main(["report", "--database-url", url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [pathway] = report["pathways"]
    assert (pathway["pathway"], pathway["overridden"], pathway["overrideRate"]) == (
        "imaging-not-indicated",
        1,
        1.0,
    )
    assert report["overrideReasons"][0]["display"] == reason["display"]


def test_decisions_are_still_logged_after_postgresql_restarts(outage_cluster: PostgresCluster) -> None:
    app = create_app(Settings(auth="off", database_url=outage_cluster.url, patient_hash_key="k"))
    store = get_store(app)
    before = _store_failures("log_decisions")
    first, second = lumbar_mri_decision(), lumbar_mri_decision()
    for decision in (first, second):
        log_signed(store, decision, hook_instance="i-1", patient_id="p1")
        # The connection kept from the first call dies with the restart; the next call is logged all the same.
        outage_cluster.stop()
        outage_cluster.start()
    with store.engine.connect() as connection:
        logged = {row.consult_id for row in connection.execute(sa.select(tables.decisions))}
    assert logged == {first.consult_id, second.consult_id}
    assert _store_failures("log_decisions") == before
