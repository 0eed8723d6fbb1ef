"""Red-flag detection and pathway choice alone (`decide`): p50/p99 for 200, 1,000 and 5,000 resources.

Records are built by cycling through the Synthea test records' resources (fresh ids), so every
resource type grows with the record. Detection reads only the resources whose codes matter (through
the record's code index) plus the medicine list and non-SNOMED conditions, so its cost should grow
far more slowly than the record.

    .venv/bin/python bench/bench_red_flags.py [--iterations N]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

from cds_service.fhir.record import RECORD_TYPES, PatientRecord
from cds_service.knowledge import load_knowledge
from cds_service.rules.model import CodeRef, ImagingOrder, Modality, Region
from cds_service.rules.pathway import decide

SYNTHEA = Path(__file__).resolve().parent.parent / "tests" / "data" / "synthea"
PATIENT = {"resourceType": "Patient", "id": "bench", "birthDate": "1960-01-01", "gender": "male"}
ORDER = ImagingOrder(
    reference="ServiceRequest/bench",
    # A reason and a note, as GPs write them: the order's words are read once per decision.
    resource={
        "resourceType": "ServiceRequest",
        "id": "bench",
        "status": "draft",
        "reasonCode": [{"text": "low back pain for 3 months, worse at night"}],
        "note": [{"text": "No saddle anaesthesia; denies bladder symptoms. Ex-smoker, on ibuprofen."}],
    },
    modality=Modality.MRI,
    regions=(Region.LUMBAR,),
    contrast=None,
    matched=CodeRef("http://www.ama-assn.org/go/cpt", "72148", "MRI lumbar spine"),
    matched_by="code",
)


def pool() -> list[dict[str, Any]]:
    """Every record resource of the Synthea test files."""
    out = []
    for path in sorted(SYNTHEA.glob("*.json")):
        for entry in json.loads(path.read_text("utf-8"))["entry"]:
            if entry["resource"]["resourceType"] in RECORD_TYPES:
                out.append(entry["resource"])
    return out


def record_of(size: int, resources: list[dict[str, Any]]) -> PatientRecord:
    """A record of `size` resources drawn in turn from the pool."""
    chosen = []
    for i in range(size):
        res = copy.copy(resources[i % len(resources)])
        res["id"] = f"r{i}"
        chosen.append(res)
    return PatientRecord.from_resources(PATIENT, chosen, as_of=date(2026, 11, 20))


def padded(record_size: int, padding: int, resources: list[dict[str, Any]]) -> PatientRecord:
    """The `record_size` record plus `padding` routine results no red flag reads (HbA1c, by LOINC)."""
    base = [res for group in record_of(record_size, resources).resources.values() for res in group]
    routine = [
        {
            "resourceType": "Observation",
            "id": f"pad{i}",
            "status": "final",
            "code": {
                "coding": [{"system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c"}]
            },
            "effectiveDateTime": f"20{10 + i % 16:02d}-06-01",
            "valueQuantity": {"value": 6.1, "unit": "%"},
        }
        for i in range(padding)
    ]
    return PatientRecord.from_resources(PATIENT, [*base, *routine], as_of=date(2026, 11, 20))


def timed(record: PatientRecord, knowledge: Any, iterations: int) -> tuple[float, float]:
    """p50 and p99 of decide() on this record, in milliseconds."""
    for _ in range(20):
        decide(ORDER, record, knowledge, consult_id="urn:uuid:bench")
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        decide(ORDER, record, knowledge, consult_id="urn:uuid:bench")
        samples.append(time.perf_counter() - started)
    p99 = statistics.quantiles(samples, n=100, method="inclusive")[98]
    return statistics.median(samples) * 1000, p99 * 1000


def main() -> int:
    """Print decide() p50/p99 per record size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()
    knowledge = load_knowledge()
    resources = pool()
    print(f"{'resources':>28} {'p50 ms':>8} {'p99 ms':>8}")
    for size in (200, 1000, 5000):
        p50, p99 = timed(record_of(size, resources), knowledge, args.iterations)
        print(f"{size:>28} {p50:>8.2f} {p99:>8.2f}")
    # Same 200 resources that matter, buried in routine results: the cost should barely move.
    p50, p99 = timed(padded(200, 4800, resources), knowledge, args.iterations)
    print(f"{'5000 (200 + 4,800 routine)':>28} {p50:>8.2f} {p99:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
