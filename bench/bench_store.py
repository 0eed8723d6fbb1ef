"""Cost of the decision log on the hook path, and feedback throughput, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_store.py [--postgres-url URL] [--calls 300]

Without --postgres-url a throwaway PostgreSQL cluster is started (Debian's postgresql package),
as the tests do. Bounded: `--calls` writes per measurement, loopback only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' samples and fixtures

from cds_service import Settings
from cds_service.store import DecisionStore, open_store
from tests.fixtures.postgres import remove_cluster, start_cluster
from tests.store_samples import accepted, lumbar_mri_decision, response_with_cards


def _log_once(store: DecisionStore, n: int) -> float:
    decision = lumbar_mri_decision()
    response = response_with_cards(decision)
    started = time.perf_counter()
    store.log_decisions(
        service_id="spinal-imaging-order-sign",
        hook="order-sign",
        hook_instance=f"bench-{n}",
        patient_id="p1",
        decisions=[decision],
        response=response,
    )
    return time.perf_counter() - started


def measure(name: str, url: str, calls: int) -> None:
    """Print log_decisions latency (p50/p99) and concurrent feedback items per second."""
    store = open_store(Settings(database_url=url, patient_hash_key="bench"))
    latencies = sorted(_log_once(store, n) for n in range(calls))
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    items = [accepted(lumbar_mri_decision()) for _ in range(calls)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        stored = sum(pool.map(lambda item: store.save_feedback(service_id="s", items=[item]), items))
    rate = calls / (time.perf_counter() - started)
    print(f"{name:<10} log_decisions p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"{name:<10} feedback {rate:.0f} items/s (8 threads, one item per call)")
    assert stored == calls
    store.close()


def main() -> None:
    """Run both measurements."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres-url")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", f"sqlite:///{tmp}/bench.sqlite", args.calls)
    if args.postgres_url:
        measure("postgresql", args.postgres_url, args.calls)
        return
    cluster = start_cluster()
    try:
        measure("postgresql", cluster.create_database(), args.calls)
    finally:
        remove_cluster(cluster)


if __name__ == "__main__":
    main()
