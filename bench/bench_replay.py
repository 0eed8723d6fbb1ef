"""Cost of the shared replay guard: one `seen_tokens` insert per authenticated call, SQLite and PostgreSQL.

    .venv/bin/python bench/bench_replay.py [--postgres-url URL] [--calls 2000]

Times `SeenTokens.first_use` alone (a fresh jti per call, as every real call has), one caller and
then 8 threads at once (the load test's concurrency). Without --postgres-url a throwaway PostgreSQL
cluster is started, as the tests do. Bounded: `--calls` inserts per measurement, loopback only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' PostgreSQL fixture

from cds_service import Settings
from cds_service.store import open_store
from cds_service.store.seen_tokens import SeenTokens
from tests.fixtures.postgres import remove_cluster, start_cluster

ISSUER = "https://bench.invalid"
THREADS = 8


def _one_insert(seen: SeenTokens) -> float:
    started = time.perf_counter()
    if not seen.first_use(ISSUER, str(uuid.uuid4()), time.time() + 300):
        raise AssertionError("a fresh jti was taken for a replay")
    return time.perf_counter() - started


def measure(name: str, database_url: str, calls: int) -> None:
    """Print p50/p99 of one insert, and inserts/s with THREADS callers."""
    store = open_store(Settings(database_url=database_url, patient_hash_key="bench"))
    try:
        seen = SeenTokens(store)
        for _ in range(50):  # warm the pool
            _one_insert(seen)
        single = sorted(_one_insert(seen) for _ in range(calls))
        started = time.perf_counter()
        with ThreadPoolExecutor(THREADS) as pool:
            threaded = sorted(pool.map(lambda _: _one_insert(seen), range(calls)))
        elapsed = time.perf_counter() - started
    finally:
        store.close()
    p99 = single[int(len(single) * 0.99) - 1]
    t99 = threaded[int(len(threaded) * 0.99) - 1]
    print(
        f"{name}: 1 caller p50 {statistics.median(single) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms; "
        f"{THREADS} threads {calls / elapsed:.0f} inserts/s, p99 {t99 * 1000:.2f} ms"
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
