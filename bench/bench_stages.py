"""Where the CPU of one hook call goes: each stage's cost inside the whole call, in microseconds.

The HTTP throughput target (bench_http.py: >= 50% of hello-world Flask under the same server) is a
CPU budget: on 2 cores, every microsecond a call spends in the service is one gunicorn cannot
spend on the next call. This script makes the same call as bench_http.py (sample 17 by default:
lumbar MRI, no red flags, a warning card) through the WSGI app in-process and reports CPU time per
call (median of several rounds).

A stage timed alone in a tight loop runs hot in the CPU caches and looks two to three times cheaper
than it is inside a real call, so each stage is measured the other way round: the whole call again
with that stage answered from a stored result; the difference is what the stage costs in a call.

    .venv/bin/python bench/bench_stages.py [--request FILE] [--iterations N] [--rounds R]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

import cds_service.pipeline as pipeline_module
from cds_service.app import create_app
from cds_service.samples import load_sample, service_id_for
from cds_service.store import get_store

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLE = REPO / "sample_bundles" / "17-acute-low-back-pain-no-red-flags.json"


def environ(path: str, body: bytes = b"", method: str = "POST") -> dict[str, Any]:
    """A WSGI environ as gunicorn builds it for one request."""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8080",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def wsgi_call(app: Callable[..., Any], env: dict[str, Any]) -> tuple[str, bytes]:
    """Call a WSGI app as a server would: status and the whole body."""
    status: list[str] = []

    def start_response(line: str, _headers: list[tuple[str, str]], _exc: Any = None) -> None:
        status.append(line)

    result = app(env, start_response)
    try:
        return status[0], b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def cpu_us(step: Callable[[], Any], iterations: int, rounds: int) -> float:
    """Median over `rounds` of the CPU time per call, in microseconds (after a warm-up round)."""
    for _ in range(max(10, iterations // 10)):
        step()
    per_call = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(iterations):
            step()
        per_call.append((time.process_time() - started) / iterations * 1e6)
    return statistics.median(per_call)


def memoized(function: Callable[..., Any]) -> Callable[..., Any]:
    """The function's first answer, returned for every later call (the stage 'removed').

    A hook outcome is handed back with its cards' links as they were first answered: the call adds
    the red-flag check link to the cards it is given, and the stored cards must not keep them.
    """
    answers: list[Any] = []
    links: list[Any] = []

    def stored(*args: Any, **kwargs: Any) -> Any:
        if not answers:
            answers.append(function(*args, **kwargs))
            links.extend(_card_links(answers[0]))
        for card, first in zip(_cards(answers[0]), links, strict=True):
            card.links = first
        return answers[0]

    return stored


def _cards(answer: Any) -> list[Any]:
    response = getattr(answer, "response", None)
    return list(response.cards) if response is not None else []


def _card_links(answer: Any) -> list[Any]:
    return [list(card.links) if card.links is not None else None for card in _cards(answer)]


def main() -> int:
    """Time the whole call, then the call without each stage, and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--request", type=Path, default=DEFAULT_SAMPLE, help="sample Bundle or request file")
    parser.add_argument("--iterations", type=int, default=2000, help="calls per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported (default 5)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-stages-"))
    os.environ.update(
        SPINE_CDS_AUTH="off",
        SPINE_CDS_DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite'}",
        SPINE_CDS_PATIENT_HASH_KEY="bench-only-key",
    )
    call = load_sample(args.request).request
    path = f"/cds-services/{service_id_for(call)}"
    app = create_app()
    hello = Flask("hello")
    hello.add_url_rule("/", "hello", lambda: {"hello": "world"}, methods=["GET", "POST"])

    # The body is serialised once; each call only gets a fresh hookInstance, as wrk sends it.
    placeholder = "00000000-0000-4000-8000-000000000000"
    call["hookInstance"] = placeholder
    template = json.dumps(call).encode()

    def hook_call() -> tuple[str, bytes]:
        body = template.replace(placeholder.encode(), str(uuid.uuid4()).encode())
        return wsgi_call(app, environ(path, body))

    status, answer = hook_call()
    if not status.startswith("200"):
        raise SystemExit(f"the sample call answers {status}")
    print(f"request {args.request.name}, answer {len(answer)} bytes")
    print(f"CPU per call, median of {args.rounds} rounds x {args.iterations} calls")

    def measure(step: Callable[[], Any]) -> float:
        return cpu_us(step, args.iterations, args.rounds)

    store = get_store(app)
    # Each stage as (object, attribute) where the hook call looks it up at call time.
    places: dict[str, tuple[Any, str]] = {
        "decide": (pipeline_module, "decide"),
        "build_response": (pipeline_module, "build_response"),
        "evaluate_hook": (pipeline_module, "evaluate_hook"),
        "log_decisions": (store, "log_decisions"),
    }
    real = {name: getattr(owner, attribute) for name, (owner, attribute) in places.items()}

    def without(*stages: str) -> float:
        """The whole call with the named stages answered from a stored result."""
        for name in stages:
            owner, attribute = places[name]
            setattr(owner, attribute, memoized(real[name]))
        try:
            return measure(hook_call)
        finally:
            for name in stages:
                owner, attribute = places[name]
                setattr(owner, attribute, real[name])

    real_stderr = sys.stderr
    with open(os.devnull, "w") as devnull:  # the access log is written (and paid for), not shown
        sys.stderr = devnull
        try:
            whole = measure(hook_call)
            rules = whole - without("decide")
            cards = whole - without("build_response")
            log = whole - without("log_decisions")
            shell = without("evaluate_hook", "log_decisions")
            healthz = measure(lambda: wsgi_call(app, environ("/healthz", method="GET")))
            hello_us = measure(lambda: wsgi_call(hello, environ("/", method="GET")))
        finally:
            sys.stderr = real_stderr
    rows = [
        ("whole hook call (WSGI, in-process)", whole),
        ("  rules: red flags and pathway (decide)", rules),
        ("  cards: build_response", cards),
        ("  decision log insert", log),
        ("  the rest: Flask, parse, validate, record, serialize, access log", shell),
        ("for scale: GET /healthz (Flask + service hooks)", healthz),
        ("for scale: hello-world Flask GET /", hello_us),
    ]
    for name, micros in rows:
        print(f"{name:66} {micros:8.1f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
