"""FHIR fallback fetch: wall time of fetching every prefetch key from sekmet-fhir at once, against
the sum of the keys' individual query times (issue 2 item 7). Concurrency should make the wall
time close to the slowest query, not the sum.

Starts its own sekmet-fhir (<repo>/.venv-fhir/bin/sekmet) and loads the largest Synthea record.

    .venv/bin/python bench/bench_fetch.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cds_service import Settings  # noqa: E402 - after the repo is on the path
from cds_service.fhir.client import fetch_all  # noqa: E402
from cds_service.fhir.load import load_patient_record  # noqa: E402
from cds_service.fhir.queries import PREFETCH_TEMPLATES, fill_template  # noqa: E402
from tests.fixtures.fhir_server import running_sekmet  # noqa: E402

SIMULATED_LATENCY = 0.05
LARGEST = REPO / "tests" / "data" / "synthea" / "Austin_Franecki_f23eef30-acb2-49da-8091-159b61dc1ed5.json"


def median_ms(samples: list[float]) -> float:
    """Median of samples in seconds, as milliseconds."""
    return statistics.median(samples) * 1000


def main() -> int:
    """Load the record, then time each key alone and all keys together."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, running_sekmet(Path(tmp)) as server:
        patient_id = server.load_transaction(LARGEST)
        # A generous deadline so that nothing times out: this measures, it does not enforce.
        settings = Settings(auth="off", fhir_servers=[server.base_url], fetch_deadline_seconds=10)
        context = {"patientId": patient_id, "userId": "Practitioner/gp-1"}
        queries = {
            key: f"{q}&_count={settings.fetch_page_size}" if "?" in q else q
            for key, q in ((k, fill_template(t, context)) for k, t in PREFETCH_TEMPLATES.items())
        }
        for _ in range(3):  # warm-up: connections, server caches
            fetch_all(server.base_url, queries, access_token=None, settings=settings)

        single: dict[str, list[float]] = {key: [] for key in queries}
        together: list[float] = []
        whole: list[float] = []
        counts: dict[str, int] = {}
        for _ in range(args.repeats):
            for key, query in queries.items():
                started = time.perf_counter()
                result = fetch_all(server.base_url, {key: query}, access_token=None, settings=settings)[key]
                single[key].append(time.perf_counter() - started)
                counts[key] = len(result.resources or ())
            started = time.perf_counter()
            fetch_all(server.base_url, queries, access_token=None, settings=settings)
            together.append(time.perf_counter() - started)
            started = time.perf_counter()
            load_patient_record(
                context=context,
                prefetch=None,
                fhir_server=server.base_url,
                access_token=None,
                settings=settings,
            )
            whole.append(time.perf_counter() - started)

    print(f"{'key':<22}{'resources':>10}{'median ms':>11}")
    for key, samples in single.items():
        print(f"{key:<22}{counts[key]:>10}{median_ms(samples):>11.1f}")
    total = sum(median_ms(s) for s in single.values())
    slowest = max(median_ms(s) for s in single.values())
    print(f"sum of individual queries      {total:>9.1f} ms")
    print(f"slowest individual query       {slowest:>9.1f} ms")
    print(f"all keys concurrently (wall)   {median_ms(together):>9.1f} ms  (max {max(together) * 1000:.1f})")
    print(f"load_patient_record, no prefetch {median_ms(whole):>7.1f} ms")
    print(f"default deadline               {Settings().fetch_deadline_seconds * 1000:>9.0f} ms")
    latency_bound(queries, args.repeats)
    return 0


class _SlowEhr(BaseHTTPRequestHandler):
    """An EHR whose every query takes SIMULATED_LATENCY seconds and matches nothing."""

    def do_GET(self) -> None:
        time.sleep(SIMULATED_LATENCY)
        body = json.dumps(
            {"resourceType": "Patient", "id": "p"}
            if "/Patient/" in self.path
            else {"resourceType": "Bundle", "type": "searchset", "entry": []}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def latency_bound(queries: dict[str, str], repeats: int) -> None:
    """The same comparison against a threaded server with a fixed latency per query, where the
    server is not the bottleneck (sekmet answers one request at a time)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _SlowEhr)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/fhir"
    settings = Settings(auth="off", fhir_servers=[base], fetch_deadline_seconds=10, fetch_timeout_seconds=10)
    try:
        walls = []
        for _ in range(repeats):
            started = time.perf_counter()
            fetch_all(base, queries, access_token=None, settings=settings)
            walls.append(time.perf_counter() - started)
    finally:
        httpd.shutdown()
        httpd.server_close()
    print(
        f"simulated EHR, {SIMULATED_LATENCY * 1000:.0f} ms per query: {len(queries)} keys concurrently "
        f"{median_ms(walls):.1f} ms (sequential would be {len(queries) * SIMULATED_LATENCY * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    sys.exit(main())
