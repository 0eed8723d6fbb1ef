"""`spine-cds demo`: every sample bundle through a running service over HTTP, one line each.

Exits non-zero when a sample's pathway differs from the pathway its bundle is tagged with (the
guideline's answer), or when the service answers with an error.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import requests

from cds_service.cards.decision_extension import read_decision
from cds_service.samples import (
    NO_DECISION,
    SampleError,
    default_samples_dir,
    load_sample,
    sample_files,
    service_id_for,
)
from cds_service.settings import Settings


def register(sub: Any) -> None:
    """Add the `demo` sub-command."""
    parser = sub.add_parser("demo", help="run every sample bundle through a running service over HTTP")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="base URL of the running service")
    parser.add_argument("--samples", type=Path, default=None, help="directory of sample bundles")
    parser.add_argument("--hook", choices=("order-select", "order-sign"), default="order-select")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer")
    parser.set_defaults(run=run)


def pathway_of(body: dict[str, Any], settings: Settings) -> str:
    """The pathway on the response's decision systemAction(s), or `no-decision`."""
    found = [
        decision["pathway"]
        for action in body.get("systemActions") or []
        if (decision := read_decision(action.get("resource") or {}, settings)) is not None
    ]
    return ",".join(found) if found else NO_DECISION


def _row(*cells: str) -> str:
    widths = (52, 28, 28, 9)
    fixed = "  ".join(cell.ljust(width)[:width] for cell, width in zip(cells, widths, strict=False))
    return f"{fixed}  {'  '.join(cells[len(widths) :])}"


def run(args: argparse.Namespace) -> int:
    """Post each sample, print file/expected/got/indicator/ms/summary; 1 if any differs."""
    settings = Settings()
    directory = args.samples or default_samples_dir()
    files = sample_files(directory)
    if not files:
        print(f"spine-cds demo: no sample bundles in {directory}")
        return 1
    print(_row("sample", "expected", "got", "card", "ms", "summary"))
    failures = 0
    session = requests.Session()
    for path in files:
        try:
            sample = load_sample(path, hook=args.hook)
        except SampleError as exc:
            print(_row(path.name, "-", "unreadable", "-", "-", str(exc)))
            failures += 1
            continue
        url = f"{args.url.rstrip('/')}/cds-services/{service_id_for(sample.request)}"
        started = time.perf_counter()
        try:
            response = session.post(url, json=sample.request, timeout=args.timeout)
        except requests.RequestException as exc:
            print(f"spine-cds demo: cannot reach {args.url}: {exc.__class__.__name__}")
            return 1
        elapsed = f"{(time.perf_counter() - started) * 1000:.1f}"
        body = response.json() if "json" in response.headers.get("content-type", "") else {}
        if response.status_code != 200:
            print(_row(path.name, sample.expected or "-", f"HTTP {response.status_code}", "-", elapsed, ""))
            failures += 1
            continue
        got = pathway_of(body, settings)
        cards = body.get("cards") or []
        indicator = cards[0]["indicator"] if cards else "none"
        summary = cards[0]["summary"] if cards else ""
        marker = "" if sample.expected in (None, got) else "  << DIFFERS"
        failures += bool(marker)
        print(_row(path.name, sample.expected or "-", got, indicator, elapsed, summary) + marker)
    print(f"\n{len(files) - failures} of {len(files)} samples got their expected pathway.")
    return 1 if failures else 0
