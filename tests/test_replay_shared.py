"""A client token is accepted once by the whole deployment: every worker and node shares one database."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from flask import Flask

from cds_service import Settings, create_app
from cds_service.store import get_store, open_store, tables
from cds_service.store.engine import open_engine
from cds_service.store.migrate import MIGRATIONS, current_revision, head_revision
from cds_service.store.rows import feedback_row
from cds_service.store.seen_tokens import SeenTokens, token_key
from tests.client_keys import ClientKey
from tests.store_samples import accepted, lumbar_mri_decision

PUBLIC_URL = "https://cds.example.org/spine"
ISS = "https://ehr.example.org"
DISCOVERY = "/cds-services"


@pytest.fixture(scope="module")
def signer() -> ClientKey:
    return ClientKey("ES384", "ehr-ec-1", iss=ISS)


def start_node(tmp_path: Path, signer: ClientKey, database_url: str, **settings: Any) -> Flask:
    """One app instance, as a gunicorn worker or another node starts it."""
    issuers = tmp_path / "trusted-issuers.json"
    issuers.write_text(json.dumps({ISS: {"jwks": {"keys": [signer.jwk]}}}))
    return create_app(
        Settings(
            auth="on",
            public_url=PUBLIC_URL,
            trusted_issuers=str(issuers),
            database_url=database_url,
            patient_hash_key="test-key",
            **settings,
        )
    )


@pytest.fixture
def two_nodes(tmp_path: Path, signer: ClientKey, database_url: str) -> Iterator[tuple[Flask, Flask]]:
    first, second = start_node(tmp_path, signer, database_url), start_node(tmp_path, signer, database_url)
    yield first, second
    for node in (first, second):
        get_store(node).close()


def discover(node: Flask, token: str) -> int:
    return node.test_client().get(DISCOVERY, headers={"Authorization": f"Bearer {token}"}).status_code


def test_token_replayed_to_another_node_is_refused(two_nodes: tuple[Flask, Flask], signer: ClientKey) -> None:
    first, second = two_nodes
    token = signer.token(PUBLIC_URL + DISCOVERY)
    assert discover(first, token) == 200
    assert discover(second, token) == 401
    assert discover(second, signer.token(PUBLIC_URL + DISCOVERY)) == 200  # a fresh token still works


def test_same_token_sent_by_many_threads_to_two_nodes_is_accepted_exactly_once(
    two_nodes: tuple[Flask, Flask], signer: ClientKey
) -> None:
    token = signer.token(PUBLIC_URL + DISCOVERY)
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def send(node: Flask) -> None:
        client = node.test_client()
        barrier.wait()
        status = client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"}).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=send, args=(two_nodes[i % 2],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [401] * 15


def test_table_keeps_a_hash_of_the_token_id_not_the_id(
    two_nodes: tuple[Flask, Flask], signer: ClientKey
) -> None:
    jti = "jti-that-must-not-be-stored-as-such"
    assert discover(two_nodes[0], signer.token(PUBLIC_URL + DISCOVERY, jti=jti)) == 200
    with get_store(two_nodes[0]).engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(sa.select(tables.seen_tokens))]
    assert [key for key, _ in rows] == [token_key(ISS, jti)]
    assert jti not in str(rows)


# --- expiry and purge ----------------------------------------------------------------------


@pytest.fixture
def seen(database_url: str) -> Iterator[SeenTokens]:
    store = open_store(Settings(database_url=database_url, patient_hash_key="test-key"))
    yield SeenTokens(store, purge_interval_seconds=3600, purge_batch_rows=2)
    store.close()


def test_expired_token_ids_are_purged_in_bounded_batches(seen: SeenTokens) -> None:
    now = time.time()
    for jti in ("old-1", "old-2", "old-3"):
        assert seen.first_use(ISS, jti, now - 60)
    assert seen.first_use(ISS, "live", now + 300)
    assert seen.purge_expired(now) == 2  # one batch at most
    assert seen.purge_expired(now) == 1
    assert seen.purge_expired(now) == 0
    assert len(seen) == 1
    assert not seen.first_use(ISS, "live", now + 300)  # the live one is still a replay


def test_authentication_purges_expired_token_ids_by_itself(database_url: str) -> None:
    store = open_store(Settings(database_url=database_url, patient_hash_key="test-key"))
    try:
        seen = SeenTokens(store, purge_interval_seconds=0, purge_batch_rows=100)
        now = time.time()
        for jti in ("old-1", "old-2"):
            seen.first_use(ISS, jti, now - 60)
        assert seen.first_use(ISS, "new", now + 300)
        assert len(seen) == 1
    finally:
        store.close()


def test_jti_reused_after_its_first_token_expired_is_accepted_once(seen: SeenTokens) -> None:
    now = time.time()
    assert seen.first_use(ISS, "reused", now - 60)  # that token has expired; its row is not purged yet
    assert seen.first_use(ISS, "reused", now + 300)
    assert not seen.first_use(ISS, "reused", now + 300)


def test_same_jti_from_two_issuers_is_two_tokens(seen: SeenTokens) -> None:
    now = time.time()
    assert seen.first_use(ISS, "shared", now + 300)
    assert seen.first_use("https://other-ehr.example.org", "shared", now + 300)


# --- migration -----------------------------------------------------------------------------


def test_migration_adds_the_table_to_a_database_already_holding_feedback(database_url: str) -> None:
    # A database as the previous release left it: at revision 0001, with feedback in it.
    engine = open_engine(database_url)
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        item = accepted(lumbar_mri_decision())
        connection.execute(tables.feedback.insert(), feedback_row("s", item, now=datetime.now(UTC)))
    assert "seen_tokens" not in sa.inspect(engine).get_table_names()
    engine.dispose()

    upgraded = open_store(Settings(database_url=database_url, patient_hash_key="test-key"))
    try:
        assert current_revision(upgraded.engine) == head_revision()
        assert SeenTokens(upgraded).first_use(ISS, "after-upgrade", time.time() + 300)
        assert upgraded.save_feedback(service_id="s", items=[item]) == 0  # the old row is still there
    finally:
        upgraded.close()


# --- database outage -----------------------------------------------------------------------


def test_database_outage_refuses_with_503_and_the_retry_succeeds_afterwards(
    tmp_path: Path, signer: ClientKey, postgres_url: str
) -> None:
    node = start_node(tmp_path, signer, postgres_url)
    database = sa.engine.make_url(postgres_url).database
    admin = sa.create_engine(postgres_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    token = signer.token(PUBLIC_URL + DISCOVERY)
    try:
        with admin.connect() as connection:  # the node's database stops accepting connections
            connection.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
            connection.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db"),
                {"db": database},
            )
        response = node.test_client().get(DISCOVERY, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert "WWW-Authenticate" not in response.headers
        assert response.get_json()["issue"][0]["code"] == "transient"

        with admin.connect() as connection:
            connection.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
        time.sleep(int(response.headers["Retry-After"]))  # as the EHR is asked to
        assert discover(node, token) == 200  # its retry with the same token
        assert discover(node, token) == 401
    finally:
        get_store(node).close()
        admin.dispose()


def test_full_process_cache_leaves_the_decision_to_the_shared_table(
    tmp_path: Path, signer: ClientKey, database_url: str
) -> None:
    node = start_node(tmp_path, signer, database_url, jti_cache_size=1)
    try:
        assert discover(node, signer.token(PUBLIC_URL + DISCOVERY)) == 200
        token = signer.token(PUBLIC_URL + DISCOVERY)
        assert discover(node, token) == 200  # not refused because this process's cache is full
        assert discover(node, token) == 401
    finally:
        get_store(node).close()
