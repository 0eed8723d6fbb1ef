"""The decision and feedback log on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cds_service import Settings, create_app
from cds_service.errors import BadRequest
from cds_service.hooks.response import HookResponse
from cds_service.rules.model import Decision
from cds_service.store import DecisionStore, get_store, open_store, tables
from cds_service.store.migrate import current_revision, head_revision
from tests.store_samples import (
    PATIENT_ID,
    accepted,
    log_signed,
    lumbar_mri_decision,
    overridden,
    response_with_cards,
)

HASH_KEY = "test-key-not-for-production"


@pytest.fixture
def store(database_url: str) -> Iterator[DecisionStore]:
    """A store opened as a node opens it at start-up."""
    opened = open_store(Settings(database_url=database_url, patient_hash_key=HASH_KEY))
    yield opened
    opened.close()


def _all_rows_as_text(store: DecisionStore) -> str:
    with store.engine.connect() as connection:
        return "\n".join(
            str(row)
            for table in ("decisions", "feedback")
            for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
        )


def _decision_rows(store: DecisionStore) -> list[sa.Row]:
    with store.engine.connect() as connection:
        return list(connection.execute(sa.select(tables.decisions).order_by(tables.decisions.c.id)))


def test_migrations_build_an_empty_database_up_to_head(store: DecisionStore) -> None:
    assert current_revision(store.engine) == head_revision()
    assert {"decisions", "feedback"} <= set(sa.inspect(store.engine).get_table_names())
    assert store.ping()


def test_shipped_migrations_build_exactly_the_tables_the_code_uses(store: DecisionStore) -> None:
    with store.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), tables.metadata)
    assert drift == []


def test_decision_is_logged_with_its_card_and_a_keyed_hash_of_the_patient(store: DecisionStore) -> None:
    decision = lumbar_mri_decision()
    response = response_with_cards(decision)
    store.log_decisions(
        service_id="spinal-imaging-order-sign",
        hook="order-sign",
        hook_instance="d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        patient_id=PATIENT_ID,
        decisions=[decision],
        response=response,
    )
    [row] = _decision_rows(store)
    card = response.cards[0]
    assert row.consult_id == decision.consult_id
    assert row.card_uuid == card.uuid and row.card_shown
    assert row.suggestion_uuids == [s.uuid for s in card.suggestions or []]
    assert (row.pathway, row.rating, row.modality) == ("urgent-mri-suspected-cancer", "appropriate", "mri")
    assert row.red_flags == ["history-of-cancer"]
    assert (row.order_code, row.order_reference) == ("72148", decision.order.reference)
    assert row.patient_hash == hmac.new(HASH_KEY.encode(), PATIENT_ID.encode(), hashlib.sha256).hexdigest()
    assert PATIENT_ID not in _all_rows_as_text(store)


def test_raw_patient_id_never_reaches_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = open_store(Settings(database_url=f"sqlite:///{path}", patient_hash_key=HASH_KEY))
    decision = lumbar_mri_decision()
    store.log_decisions(
        service_id="spinal-imaging-order-select",
        hook="order-select",
        hook_instance="i-1",
        patient_id=PATIENT_ID,
        decisions=[decision],
        response=response_with_cards(decision),
    )
    store.close()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("log.sqlite"))
    assert decision.consult_id.encode() in on_disk
    assert PATIENT_ID.encode() not in on_disk


def test_quiet_decision_is_logged_as_no_card_shown(store: DecisionStore) -> None:
    decision = lumbar_mri_decision()
    store.log_decisions(
        service_id="spinal-imaging-order-select",
        hook="order-select",
        hook_instance="i-2",
        patient_id=None,
        decisions=[decision],
        response=HookResponse(cards=[]),
    )
    [row] = _decision_rows(store)
    assert not row.card_shown and row.suggestion_uuids == [] and row.patient_hash is None


def test_retried_hook_call_is_logged_once(store: DecisionStore) -> None:
    decision = lumbar_mri_decision()
    for _ in range(2):
        log_signed(store, decision, hook_instance="i-3")
    assert len(_decision_rows(store)) == 1


def test_the_same_feedback_item_twice_is_stored_once(store: DecisionStore) -> None:
    decision = lumbar_mri_decision()
    item = accepted(decision, when="2026-11-20T10:15:00Z")
    same_instant = accepted(decision, when="2026-11-20T10:15:00+00:00")
    assert store.save_feedback(service_id="spinal-imaging-order-sign", items=[item]) == 1
    assert store.save_feedback(service_id="spinal-imaging-order-sign", items=[item, same_instant]) == 0
    assert store.save_feedback(service_id="spinal-imaging-order-sign", items=[overridden(decision)]) == 1


def test_override_comment_text_is_not_kept_only_that_one_was_given(store: DecisionStore) -> None:
    decision = lumbar_mri_decision()
    comment = "Mrs Jones had an MRI at St Elsewhere last week"
    store.save_feedback(service_id="s", items=[overridden(decision, comment=comment)])
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(tables.feedback)).one()
    assert row.has_comment and row.override_code == "already-imaged"
    assert comment not in _all_rows_as_text(store)


@pytest.mark.parametrize(
    "item",
    [
        {"outcome": "accepted", "outcomeTimestamp": "2026-11-20T10:15:00Z"},
        {"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-20T10:15:00Z"},
        {"card": "c", "outcome": "accepted", "outcomeTimestamp": "yesterday"},
        {
            "card": "c",
            "outcome": "accepted",
            "outcomeTimestamp": "2026-11-20T10:15:00Z",
            "acceptedSuggestions": [{"uuid": "x"}],
        },
        {
            "card": "c",
            "outcome": "accepted",
            "outcomeTimestamp": "2026-11-20T10:15:00Z",
            "acceptedSuggestions": 7,
        },
        "not an object",
    ],
)
def test_malformed_feedback_is_refused_and_nothing_of_the_post_is_stored(
    store: DecisionStore, item: object
) -> None:
    good = accepted(lumbar_mri_decision())
    with pytest.raises(BadRequest):
        store.save_feedback(service_id="s", items=[good, item])
    assert store.save_feedback(service_id="s", items=[good]) == 1


def test_two_nodes_starting_at_once_share_one_postgresql(postgres_url: str) -> None:
    settings = Settings(auth="off", database_url=postgres_url, patient_hash_key=HASH_KEY)
    nodes: list = []
    errors: list[BaseException] = []

    def start_node() -> None:
        try:
            nodes.append(create_app(settings))
        except BaseException as error:  # reported below, with the thread's failure
            errors.append(error)

    threads = [threading.Thread(target=start_node) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(nodes) == 2

    first, second = (get_store(node) for node in nodes)
    decision = lumbar_mri_decision()
    log_signed(first, decision, hook_instance="i-4")
    assert first.save_feedback(service_id="s", items=[accepted(decision)]) == 1
    # The EHR retries against the other node: still one item, and node two sees node one's decision.
    assert second.save_feedback(service_id="s", items=[accepted(decision)]) == 0
    assert [row.card_uuid for row in _decision_rows(second)] == [response_with_cards(decision).cards[0].uuid]
    assert current_revision(second.engine) == head_revision()


def test_decisions_logged_by_many_threads_at_once_are_all_kept(store: DecisionStore) -> None:
    decisions = [lumbar_mri_decision() for _ in range(40)]

    def worker(mine: list[Decision]) -> None:
        for decision in mine:
            log_signed(store, decision, hook_instance="i-5")

    threads = [threading.Thread(target=worker, args=(decisions[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(row.consult_id for row in _decision_rows(store)) == sorted(d.consult_id for d in decisions)


def test_lists_in_the_log_are_stored_as_the_same_json_text_as_before(tmp_path: Path) -> None:
    # Rows written before the driver-level insert used json.dumps; old and new rows must read alike.
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    store = open_store(Settings(database_url=url, patient_hash_key=HASH_KEY))
    gaps = ('Ménière\'s "history" could not be read', "back\\slash and\ttab", "emoji 😀")
    decision = dataclasses.replace(lumbar_mri_decision(), not_checked=gaps)
    store.log_decisions(
        service_id="s",
        hook="order-sign",
        hook_instance="i-6",
        patient_id=None,
        decisions=[decision],
        response=HookResponse(cards=[]),
    )
    with store.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT not_checked, suggestion_uuids FROM decisions").one()
    store.close()
    assert tuple(stored) == (json.dumps(list(gaps)), "[]")
