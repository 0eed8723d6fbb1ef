"""What each SQLite write promises: feedback is synced before its 200, decisions are committed unsynced."""

from __future__ import annotations

from pathlib import Path

from cds_service import Settings
from cds_service.store import open_store

FULL, NORMAL = 2, 1  # values of PRAGMA synchronous


def test_feedback_commits_are_synced_and_decision_commits_are_not(tmp_path: Path) -> None:
    store = open_store(Settings(database_url=f"sqlite:///{tmp_path / 'log.sqlite'}", patient_hash_key="k"))
    try:
        with store.engine.connect() as connection:  # feedback, reports, readiness
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == FULL
        with store._decision_engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == NORMAL
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.close()
