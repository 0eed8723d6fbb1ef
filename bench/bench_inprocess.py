"""In-process hook call with complete prefetch: p50/p99 for three record sizes (issue 2 item 7).

Times the whole hook path as an EHR sees it, minus the network: the request body as JSON bytes goes
through Flask's test client (JSON parsing, envelope validation, prefetch resolution, record
triage, rules, cards, decision log, JSON response), until the answer's bytes are in hand. The
response is closed after the clock stops, as a WSGI server closes it once the answer is written:
that is when the service frees the request's parsed body and record (about 10 ms for 5,000
resources, the worker's time, not the EHR's). Targets on the 2-core machine: p50 <= 5 ms for
200 resources, <= 20 ms for the largest Synthea record, <= 50 ms for 5,000 resources.

    .venv/bin/python bench/bench_inprocess.py [--iterations N] [--gc-threshold N]
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cds_service import Settings, create_app
from cds_service.app import freeze_startup_heap

REPO = Path(__file__).resolve().parent.parent
SYNTHEA = REPO / "tests" / "data" / "synthea"
LARGEST = SYNTHEA / "Austin_Franecki_f23eef30-acb2-49da-8091-159b61dc1ed5.json"
URL = "/cds-services/spinal-imaging-order-select"
PATIENT_ID = "bench-patient"
# Prefetch key for each resource type the templates ask for.
KEY_OF_TYPE = {
    "Condition": "conditions",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
    "Observation": "observations",
    "Procedure": "procedures",
}
TARGET_MS = {"200 resources": 5.0, "largest Synthea": 20.0, "5,000 resources": 50.0}


def synthea_resources(path: Path) -> list[dict[str, Any]]:
    """The resources of one Synthea transaction Bundle that a prefetch would carry."""
    entries = json.loads(path.read_text(encoding="utf-8"))["entry"]
    return [e["resource"] for e in entries if e["resource"]["resourceType"] in KEY_OF_TYPE]


def all_synthea_resources() -> list[dict[str, Any]]:
    """Record resources of every Synthea file, largest first."""
    files = sorted(SYNTHEA.glob("*.json"), key=lambda p: p.stat().st_size, reverse=True)
    return [r for path in files for r in synthea_resources(path)]


def with_size(pool: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """`size` resources drawn from `pool` in turn, copies given fresh ids so none is a duplicate."""
    out = []
    for i in range(size):
        res = copy.deepcopy(pool[i % len(pool)])
        res["id"] = f"{res.get('id', 'r')}-{i}"
        out.append(res)
    return out


def prefetch_for(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Every key answered, as searchset Bundles (a key with no resources: null)."""
    by_key: dict[str, list[dict[str, Any]]] = {key: [] for key in KEY_OF_TYPE.values()}
    for res in resources:
        by_key[KEY_OF_TYPE[res["resourceType"]]].append(res)
    prefetch: dict[str, Any] = {
        "patient": {"resourceType": "Patient", "id": PATIENT_ID, "gender": "male", "birthDate": "1968-03-14"}
    }
    for key, items in by_key.items():
        prefetch[key] = (
            {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in items]}
            if items
            else None
        )
    return prefetch


def request_body(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """An order-select call for a lumbar spine MRI with the whole record prefetched."""
    order = {
        "resourceType": "ServiceRequest",
        "id": "mri-1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {
            "coding": [
                {"system": "http://www.ama-assn.org/go/cpt", "code": "72148", "display": "MRI lumbar spine"}
            ]
        },
    }
    return {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/gp-1",
            "patientId": PATIENT_ID,
            "selections": ["ServiceRequest/mri-1"],
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
        },
        "prefetch": prefetch_for(resources),
    }


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples) * 1000, cuts[98] * 1000


def timed(call: Callable[[], Callable[[], None]], iterations: int) -> list[float]:
    """Wall time of each call after a warm-up, until its answer is in hand (what `call` returns is
    run after the clock stops: closing the response, as a server does once the answer is sent)."""
    for _ in range(min(20, iterations)):
        call()()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        close = call()
        samples.append(time.perf_counter() - started)
        close()
    return samples


def main() -> int:
    """Run the three record sizes and print p50/p99 against the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument(
        "--gc-threshold",
        type=int,
        help="set the cyclic GC's generation-0 threshold (default 700) before timing: parsing a large "
        "request allocates many containers, and each collection walks the app's whole heap",
    )
    args = parser.parse_args()

    pool = all_synthea_resources()
    records = {
        "200 resources": with_size(synthea_resources(LARGEST), 199),
        "largest Synthea": synthea_resources(LARGEST),
        "5,000 resources": with_size(pool, 4999),
    }
    # Only the request bytes stay alive (bytes are not GC-tracked), as in a serving process:
    # keeping the source dicts would make every collection walk them.
    bodies = {name: (len(rs) + 1, json.dumps(request_body(rs)).encode()) for name, rs in records.items()}
    del pool, records
    with tempfile.TemporaryDirectory() as tmp:
        # Default settings: the 4.4 MB body of 5,000 resources is within the default request limit.
        settings = Settings(auth="off", database_url=f"sqlite:///{tmp}/bench.sqlite")
        client = create_app(settings).test_client()
        freeze_startup_heap()  # as `spine-cds serve` does in each worker
        if args.gc_threshold:
            gc.set_threshold(args.gc_threshold, *gc.get_threshold()[1:])
        print(f"gc thresholds {gc.get_threshold()}")
        print(f"{'record':<18}{'resources':>10}{'body MB':>9}{'p50 ms':>9}{'p99 ms':>9}{'target':>8}")
        for name, (count, raw) in bodies.items():

            def hook_call(raw: bytes = raw) -> Callable[[], None]:
                resp = client.post(URL, data=raw, content_type="application/json")
                assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
                resp.get_data()
                return resp.close

            iterations = max(20, args.iterations // (10 if count > 1000 else 1))
            p50, p99 = percentiles(timed(hook_call, iterations))
            verdict = "ok" if p50 <= TARGET_MS[name] else "MISSED"
            print(
                f"{name:<18}{count:>10}{len(raw) / 1e6:>9.2f}{p50:>9.2f}{p99:>9.2f}"
                f"{TARGET_MS[name]:>6.0f}ms {verdict}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
