"""Cost of the shared replay guard: one `seen_tokens` insert per authenticated call, SQLite and PostgreSQL.

    .venv/bin/python bench/bench_replay.py [--postgres-url URL] [--calls 2000]

Times `SeenTokens.first_use` alone (a fresh jti per call, as every real call has): one process,
then WORKERS processes inserting at once into the same database (gunicorn's default workers, each
handling one call at a time, or several nodes). Without --postgres-url a throwaway PostgreSQL
cluster is started, as the tests do. Bounded: `--calls` inserts per measurement, loopback only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' PostgreSQL fixture

from cds_service import Settings
from cds_service.store import open_store
from cds_service.store.seen_tokens import SeenTokens
from tests.fixtures.postgres import remove_cluster, start_cluster

ISSUER = "https://bench.invalid"
WORKERS = 2


def _one_insert(seen: SeenTokens) -> float:
    started = time.perf_counter()
    if not seen.first_use(ISSUER, str(uuid.uuid4()), time.time() + 300):
        raise AssertionError("a fresh jti was taken for a replay")
    return time.perf_counter() - started


def inserts(database_url: str, calls: int) -> tuple[list[float], float]:
    """One worker: `calls` inserts one after another; their times and the elapsed wall time."""
    store = open_store(Settings(database_url=database_url, patient_hash_key="bench"))
    try:
        seen = SeenTokens(store)
        for _ in range(50):  # warm the pool
            _one_insert(seen)
        started = time.perf_counter()
        times = [_one_insert(seen) for _ in range(calls)]
        return times, time.perf_counter() - started
    finally:
        store.close()


def _summary(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return f"p50 {statistics.median(ordered) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"


def measure(name: str, database_url: str, calls: int) -> None:
    """Print p50/p99 of one insert alone, then with WORKERS processes inserting at once."""
    alone, _ = inserts(database_url, calls)
    with ProcessPoolExecutor(WORKERS) as pool:
        results = list(pool.map(inserts, [database_url] * WORKERS, [calls] * WORKERS))
    together = [t for times, _ in results for t in times]
    rate = sum(calls / elapsed for _, elapsed in results)
    print(
        f"{name}: 1 process {_summary(alone)}; {WORKERS} processes {rate:.0f} inserts/s, {_summary(together)}"
    )


def main() -> int:
    """Measure on a throwaway SQLite file and on PostgreSQL."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres-url")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spine-cds-replay-") as tmp:
        measure("sqlite", f"sqlite:///{tmp}/replay.sqlite", args.calls)
    if args.postgres_url:
        measure("postgresql", args.postgres_url, args.calls)
        return 0
    cluster = start_cluster()
    try:
        measure("postgresql", cluster.create_database(), args.calls)
    finally:
        remove_cluster(cluster)
    return 0


if __name__ == "__main__":
    sys.exit(main())
