"""Order classification cost: microseconds per draft order, coded, text-only and non-spinal.

The classifier runs on every order-select call, before any record is read, so it must stay in the
tens of microseconds.

    .venv/bin/python bench/bench_classify.py [--number 20000]
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cds_service.knowledge import load_knowledge
from cds_service.rules.classify import classify_order

CPT = "http://www.ama-assn.org/go/cpt"

ORDERS: dict[str, dict[str, Any]] = {
    "CPT 72148 lumbar MRI": {"coding": [{"system": CPT, "code": "72148", "display": "MRI lumbar spine w/o"}]},
    "SNOMED US-ext lumbar CT": {"coding": [{"system": "http://snomed.info/sct", "code": "572091000119106"}]},
    "local code, text 'MRI L-SPINE W/O'": {
        "coding": [{"system": "urn:local", "code": "MRL"}],
        "text": "MRI L-SPINE W/O",
    },
    "knee MRI CPT 73721 (excluded)": {"coding": [{"system": CPT, "code": "73721", "display": "MRI knee"}]},
    "full blood count (not imaging)": {"coding": [{"system": "urn:local", "code": "FBC"}], "text": "FBC"},
}


def main() -> None:
    """Print the mean cost of classify_order for each kind of order."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args()
    knowledge = load_knowledge()
    for name, code in ORDERS.items():
        order = {"resourceType": "ServiceRequest", "id": "sr-1", "status": "draft", "code": code}
        seconds = timeit.timeit(lambda order=order: classify_order(order, knowledge), number=args.number)
        print(f"{name:<40} {seconds / args.number * 1e6:7.1f} us/order")


if __name__ == "__main__":
    main()
