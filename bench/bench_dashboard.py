"""The dashboard over 1,000,000 decisions with feedback, on PostgreSQL and on SQLite.

    .venv/bin/python bench/bench_dashboard.py [--decisions 1000000] [--runs 7] [--postgres-url URL]
                                              [--only postgresql|sqlite]

Loads the decisions (spread over the 365 days before today, so a year's range holds them all) and
feedback on about 70% of the cards (some cards twice) with COPY on PostgreSQL and executemany on
SQLite, then times, through the real app with a signed-in session: the dashboard page for a year's
range (the first view, which summarises the settled days once, then the views after it), the same
page for the last 90 days, and the whole CSV export for the year. Target: p50 under
1 s for the year's page on PostgreSQL. Without --postgres-url a throwaway cluster is started (as the
tests do). Bounded: fixed row counts, loopback only.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' fixtures and helpers

import sqlalchemy as sa

from cds_service import Settings, create_app
from cds_service.cards.ids import ConsultUuids
from cds_service.rules.model import Pathway, RedFlagId
from cds_service.store import open_store, tables
from cds_service.store.card_outcome import COPIED
from tests.dashboard_pages import sign_in, users_file
from tests.fixtures.postgres import remove_cluster, start_cluster

# Pathway mix and what each card offers (modality, suggestion kinds), roughly as in practice.
MIX = [
    (Pathway.IMAGING_NOT_INDICATED, 0.55, ("mri", "xray"), ("cancel-order", "refer-physiotherapy")),
    (Pathway.IMAGING_MAY_BE_APPROPRIATE, 0.12, ("mri", "xray"), ()),
    (Pathway.SPECIALIST_PATHWAY, 0.10, ("mri",), ("cancel-order", "refer-physiotherapy")),
    (Pathway.XRAY_SUSPECTED_FRACTURE, 0.08, ("mri", "xray", "ct"), ("switch-to-xray",)),
    (Pathway.URGENT_MRI_SUSPECTED_CANCER, 0.08, ("xray", "mri"), ("switch-to-mri",)),
    (Pathway.MRI_WITH_INFECTION_BLOODS, 0.04, ("xray", "mri"), ("switch-to-mri", "order-infection-bloods")),
    (Pathway.EMERGENCY_DEPARTMENT, 0.03, ("mri",), ("cancel-order",)),
]
FLAGS = [flag.value for flag in RedFlagId]
REASONS = ["patient-circumstances", "assessed-by-specialist", "red-flag-not-recorded-cancer", "other"]
REASON_SYSTEM = "https://spine-cds.example.org/fhir/CodeSystem/override-reason"
DECISION_COLUMNS = [c.name for c in tables.decisions.columns if c.name != "id"]
FEEDBACK_COLUMNS = [c.name for c in tables.feedback.columns if c.name != "id"]


def generate(n: int, seed: int = 7) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(decision row, its feedback rows) for n decisions over the last 365 days."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    weights = [w for _, w, _, _ in MIX]
    clients = [("https://ehr-a.example.org", None), ("https://ehr-b.example.org", "practice-2")]
    for i in range(n):
        pathway, _, modalities, kinds = rng.choices(MIX, weights)[0]
        modality = rng.choice(modalities)
        consult = f"urn:uuid:{rng.getrandbits(128):032x}"
        consult = f"{consult[:17]}-{consult[17:21]}-{consult[21:25]}-{consult[25:29]}-{consult[29:]}"
        uuids = ConsultUuids(consult)
        shown = bool(kinds) or rng.random() < 0.3
        suggestion_kinds = {uuids.suggestion(k): k for k in kinds} if shown else {}
        decided = now - timedelta(seconds=rng.randrange(365 * 86400))
        client_id, tenant = clients[i % 2]
        decision = {
            "consult_id": consult,
            "card_uuid": uuids.card(),
            "card_shown": shown,
            "suggestion_uuids": list(suggestion_kinds),
            "service_id": "spinal-imaging-order-sign",
            "hook": "order-sign",
            "hook_instance": f"bench-{i}",
            "patient_hash": f"{rng.getrandbits(256):064x}",
            "order_reference": f"ServiceRequest/{i}",
            "order_system": "http://snomed.info/sct",
            "order_code": "241646003",
            "order_display": "MRI of lumbar spine",
            "modality": modality,
            "regions": ["lumbar"],
            "pathway": pathway.value,
            "rating": "appropriate",
            "red_flags": rng.sample(FLAGS, rng.choice((0, 0, 1, 1, 2, 3))),
            "not_checked": [],
            "decided_at": decided,
            "client_id": client_id,
            "tenant": tenant,
            "suggestion_kinds": suggestion_kinds or None,
            "answers_used": None,
            "pathway_without_answers": None,
        }
        feedback = []
        if shown and rng.random() < 0.7:
            for repeat in range(2 if rng.random() < 0.05 else 1):
                accepted = bool(suggestion_kinds) and rng.random() < 0.6
                reason = None if accepted else rng.choice(REASONS)
                at = decided + timedelta(seconds=30 + repeat * 60)
                feedback.append(
                    {
                        "item_key": f"{rng.getrandbits(256):064x}",
                        "service_id": "spinal-imaging-order-sign",
                        "card_uuid": decision["card_uuid"],
                        "outcome": "accepted" if accepted else "overridden",
                        "accepted_suggestions": [next(iter(suggestion_kinds))] if accepted else [],
                        "override_system": REASON_SYSTEM if reason else None,
                        "override_code": reason,
                        "override_display": reason,
                        "has_comment": False,
                        "outcome_at": at,
                        "received_at": at,
                    }
                )
        latest = feedback[-1] if feedback else {}
        for column, key in COPIED.items():  # as the service copies each card's latest feedback
            decision[column] = latest.get(key)
        accepted = latest.get("accepted_suggestions") or []
        decision["accepted_kinds"] = " ".join(suggestion_kinds[u] for u in accepted) or None
        yield decision, feedback


def _text(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


def load_postgres(url: str, n: int) -> None:
    """COPY the rows in (psycopg 3's COPY FROM STDIN), then ANALYZE."""
    engine = sa.create_engine(url)
    raw = engine.raw_connection()
    driver: Any = raw.driver_connection
    with driver.cursor() as cursor:
        d_copy = f"COPY decisions ({', '.join(DECISION_COLUMNS)}) FROM STDIN"
        f_copy = f"COPY feedback ({', '.join(FEEDBACK_COLUMNS)}) FROM STDIN"
        feedback: list[dict[str, Any]] = []
        with cursor.copy(d_copy) as copy:
            for decision, items in generate(n):
                copy.write_row([_text(decision[c]) for c in DECISION_COLUMNS])
                feedback.extend(items)
        with cursor.copy(f_copy) as copy:
            for item in feedback:
                copy.write_row([_text(item[c]) for c in FEEDBACK_COLUMNS])
    driver.commit()
    driver.autocommit = True
    with driver.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE decisions")  # as autovacuum would: index-only scans
        cursor.execute("VACUUM ANALYZE feedback")
    raw.close()
    engine.dispose()


def load_sqlite(url: str, n: int) -> None:
    """executemany in batches of 20,000 in one transaction (SQLAlchemy's own bind conversions)."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA synchronous=OFF")
        decisions: list[dict[str, Any]] = []
        feedback: list[dict[str, Any]] = []
        for decision, items in generate(n):
            decisions.append(decision)
            feedback.extend(items)
            if len(decisions) == 20_000:
                connection.execute(tables.decisions.insert(), decisions)
                connection.execute(tables.feedback.insert(), feedback)
                decisions, feedback = [], []
        if decisions:
            connection.execute(tables.decisions.insert(), decisions)
        if feedback:
            connection.execute(tables.feedback.insert(), feedback)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def _times(run: Any, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        out.append(time.perf_counter() - started)
    return out


def _summary(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"  {name:<34} p50 {statistics.median(seconds):6.2f} s   p90 {p90:6.2f} s   (n={len(seconds)})"


def measure(label: str, url: str, n: int, runs: int, workdir: Path) -> None:
    """Load n decisions into the database at url and time the page and the export."""
    open_store(Settings(database_url=url, patient_hash_key="bench")).close()  # the schema, migrated
    started = time.perf_counter()
    (load_postgres if url.startswith("postgresql") else load_sqlite)(url, n)
    print(f"{label}: loaded {n:,} decisions with feedback in {time.perf_counter() - started:.0f} s")
    app = create_app(
        Settings(auth="off", database_url=url, dashboard_users=users_file(workdir), secret_key="bench")
    )
    client = app.test_client()
    assert sign_in(client) == 303
    today = datetime.now(UTC).date()
    year = f"from={today - timedelta(days=364)}&to={today}"
    quarter = f"from={today - timedelta(days=89)}&to={today}"

    def page(query: str) -> None:
        response = client.get(f"/dashboard?{query}")
        assert response.status_code == 200, response.status_code

    rows = 0

    def export() -> None:
        nonlocal rows
        response = client.get(f"/dashboard/export.csv?{year}", buffered=False)
        rows = sum(chunk.count(b"\n") for chunk in response.response) - 1  # type: ignore[union-attr]
        response.close()

    first_view = _times(lambda: page(year), 1)  # counts the settled days into the summaries, once
    print(_summary("first view (summarises 358 days)", first_view))
    print(_summary("dashboard page, a year's range", _times(lambda: page(year), runs)))
    print(_summary("dashboard page, last 90 days", _times(lambda: page(quarter), runs)))
    exports = _times(export, max(1, runs // 3))
    print(_summary("CSV export, a year's range", exports))
    print(f"  CSV export: {rows:,} rows, {rows / statistics.median(exports):,.0f} rows/s")


def main() -> int:
    """Run the benchmark on the databases asked for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--only", choices=("postgresql", "sqlite"), default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    if args.only in (None, "postgresql"):
        cluster = None if args.postgres_url else start_cluster()
        try:
            url = args.postgres_url or cluster.create_database()  # type: ignore[union-attr]
            measure("PostgreSQL", url, args.decisions, args.runs, workdir)
        finally:
            if cluster is not None:
                remove_cluster(cluster)
    if args.only in (None, "sqlite"):
        measure("SQLite", f"sqlite:///{workdir / 'bench.sqlite'}", args.decisions, args.runs, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
