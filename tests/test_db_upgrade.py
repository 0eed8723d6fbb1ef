"""A decision log made by an earlier release migrates forward with its data intact.

The database is built with the first migration only (0001), as the first release left it, and holds
a decision and the feedback on its card; `spine-cds db check` says it is behind, `spine-cds db
upgrade` brings it to head, and every row is still there, read back as the service reads it.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from cds_service.store.engine import open_engine
from cds_service.store.migrate import _config, current_revision, head_revision
from tests.servers import SPINE_CDS

DECIDED_AT = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
DECISION: dict[str, Any] = {
    "consult_id": "consult-from-release-1",
    "card_uuid": "card-from-release-1",
    "card_shown": True,
    "suggestion_uuids": ["s-cancel", "s-physio"],
    "service_id": "spinal-imaging-order-select",
    "hook": "order-select",
    "hook_instance": "hook-instance-1",
    "patient_hash": "a" * 64,
    "order_reference": "ServiceRequest/mri-1",
    "order_system": "http://www.ama-assn.org/go/cpt",
    "order_code": "72148",
    "order_display": "MRI lumbar spine without contrast",
    "modality": "mri",
    "regions": ["lumbar"],
    "pathway": "imaging-not-indicated",
    "rating": "not-appropriate",
    "red_flags": [],
    "not_checked": ["medications"],
    "decided_at": DECIDED_AT,
}
FEEDBACK: dict[str, Any] = {
    "item_key": "f" * 64,
    "service_id": "spinal-imaging-order-select",
    "card_uuid": "card-from-release-1",
    "outcome": "overridden",
    "accepted_suggestions": [],
    "override_system": "https://example.org/override-reasons",
    "override_code": "patient-insists",
    "override_display": "Patient insists",
    "has_comment": False,
    "outcome_at": DECIDED_AT,
    "received_at": DECIDED_AT,
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'release-1.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def first_release_database(url: str) -> None:
    """The schema of the first migration only, holding one decision and the feedback on its card."""
    engine = open_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), "0001")
        metadata = sa.MetaData()
        decisions = sa.Table("decisions", metadata, autoload_with=engine)
        feedback = sa.Table("feedback", metadata, autoload_with=engine)
        with engine.begin() as connection:
            connection.execute(decisions.insert(), [DECISION])
            connection.execute(feedback.insert(), [FEEDBACK])
        assert current_revision(engine) == "0001"
    finally:
        engine.dispose()


def spine_cds(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SPINE_CDS), *args], capture_output=True, text=True, timeout=120, check=False)


def rows(url: str, table: str, columns: list[str]) -> list[dict[str, Any]]:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            selected = sa.Table(table, sa.MetaData(), autoload_with=engine)
            query = sa.select(*(selected.c[name] for name in columns))
            return [dict(row._mapping) for row in connection.execute(query)]
    finally:
        engine.dispose()


def as_utc(value: Any) -> Any:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def test_a_first_release_database_upgrades_to_head_with_its_decisions_and_feedback(
    database_url: str,
) -> None:
    first_release_database(database_url)

    behind = spine_cds("db", "check", "--database-url", database_url)
    assert behind.returncode == 1
    assert "revision 0001" in behind.stderr
    assert "spine-cds db upgrade" in behind.stderr

    upgraded = spine_cds("db", "upgrade", "--database-url", database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"from revision 0001 to {head_revision()}" in upgraded.stdout

    up_to_date = spine_cds("db", "check", "--database-url", database_url)
    assert up_to_date.returncode == 0, up_to_date.stderr
    assert "up to date" in up_to_date.stdout

    decisions = rows(database_url, "decisions", list(DECISION))
    assert [{k: as_utc(v) for k, v in row.items()} for row in decisions] == [DECISION]
    feedback = rows(database_url, "feedback", list(FEEDBACK))
    assert [{k: as_utc(v) for k, v in row.items()} for row in feedback] == [FEEDBACK]

    # The service reads the old rows as its own: the report counts the decision and its override.
    report = spine_cds("report", "--json", "--database-url", database_url)
    assert report.returncode == 0, report.stderr
    pathway = {p["pathway"]: p for p in json.loads(report.stdout)["pathways"]}["imaging-not-indicated"]
    assert (pathway["decisions"], pathway["overridden"]) == (1, 1)


def test_upgrading_a_database_at_head_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'current.sqlite'}"
    assert spine_cds("db", "upgrade", "--database-url", url).returncode == 0
    again = spine_cds("db", "upgrade", "--database-url", url)
    assert again.returncode == 0
    assert "nothing to do" in again.stdout


def test_check_on_a_missing_database_fails_without_creating_it(tmp_path: Path) -> None:
    path = tmp_path / "never-made.sqlite"
    result = spine_cds("db", "check", "--database-url", f"sqlite:///{path}")
    assert result.returncode == 1
    assert "spine-cds db upgrade" in result.stderr
    assert not path.exists()


def test_check_on_a_database_made_by_a_newer_release_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.sqlite'}"
    assert spine_cds("db", "upgrade", "--database-url", url).returncode == 0
    engine = open_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    result = spine_cds("db", "check", "--database-url", url)
    assert result.returncode == 1
    assert "newer release" in result.stderr
    refused = spine_cds("db", "upgrade", "--database-url", url)
    assert refused.returncode == 1
    assert "newer release" in refused.stderr


def test_check_on_an_unreachable_database_exits_2() -> None:
    result = spine_cds("db", "check", "--database-url", "postgresql+psycopg://spine@127.0.0.1:9/none")
    assert result.returncode == 2
    assert "Cannot reach" in result.stderr
