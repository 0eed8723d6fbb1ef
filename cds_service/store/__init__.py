"""Decision and feedback log: SQLite by default, PostgreSQL for a deployment of several nodes."""

from __future__ import annotations

import logging
import secrets

from flask import Flask

from cds_service.app_parts import settings_of
from cds_service.errors import StoreUnavailable
from cds_service.settings import Settings
from cds_service.store.decision_store import DecisionStore
from cds_service.store.engine import open_engine, sqlite_file

log = logging.getLogger(__name__)

_EXTENSION = "spine_cds.store"


def _patient_hash_key(settings: Settings) -> bytes:
    if settings.patient_hash_key is not None:
        return settings.patient_hash_key.get_secret_value().encode()
    return secrets.token_bytes(32)  # said once at start-up (cds_service.startup)


def open_store(settings: Settings) -> DecisionStore:
    """Open the store named by the settings and bring its schema to head if the database is up."""
    timeout = settings.database_connect_timeout_seconds
    engine = open_engine(settings.database_url, connect_timeout_seconds=timeout)
    decision_engine = None
    if sqlite_file(engine.url) is not None:
        decision_engine = open_engine(
            settings.database_url, connect_timeout_seconds=timeout, sqlite_synchronous="NORMAL"
        )
    store = DecisionStore(
        engine, patient_hash_key=_patient_hash_key(settings), decision_engine=decision_engine
    )
    try:
        store.migrate()
    except StoreUnavailable:
        # Start anyway: hook calls must still be answered. /readyz reports 503 until it is back.
        log.error("decision store unreachable at start-up; will retry on use")
    return store


def install_store(app: Flask) -> None:
    """Open the decision and feedback store for the app (SPINE_CDS_DATABASE_URL)."""
    settings = settings_of(app)
    app.extensions[_EXTENSION] = open_store(settings)


def get_store(app: Flask) -> DecisionStore:
    """The app's decision and feedback store."""
    store: DecisionStore = app.extensions[_EXTENSION]
    return store


__all__ = ["DecisionStore", "get_store", "install_store", "open_store"]
