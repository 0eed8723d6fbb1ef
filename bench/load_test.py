"""Bounded load test: `spine-cds serve` (gunicorn, 2 workers) on 127.0.0.1 at a fixed concurrency.

Client authentication stays ON, as in production: the script makes a throwaway ES384 key, trusts it
through a temporary SPINE_CDS_TRUSTED_ISSUERS file, and signs a fresh JWT (new jti, aud = the
service URL) for every call, so the run also exercises JWT verification and the replay cache.
Every call carries a fresh hookInstance and the sample's complete prefetch (no FHIR fetch).

    .venv/bin/python bench/load_test.py [--seconds 60] [--concurrency 8] [--sample FILE] [--auth off]

Reports requests/s, latency p50/p99, errors (must be zero) and each worker's RSS after warm-up and
at the end (should not grow). Exit status 1 on any error. Loopback only, bounded in time and count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the load generator, the tests' server helper and client key

from bench.closed_loop import LoadResult, NextCall, closed_loop  # noqa: E402
from cds_service.samples import load_sample, service_id_for  # noqa: E402
from tests.client_keys import ClientKey  # noqa: E402
from tests.servers import free_port, running_server  # noqa: E402

DEFAULT_SAMPLE = REPO / "sample_bundles" / "02-resolved-breast-cancer-new-thoracic-pain.json"
ISSUER = "https://load-test.invalid"
WARM_UP_CALLS = 50


def worker_pids(master: int) -> list[int]:
    """gunicorn's worker processes: the master's children."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def hook_calls(body: dict[str, Any], url: str, signer: ClientKey | None) -> NextCall:
    """Each call: the sample with a fresh hookInstance, and a freshly signed JWT when auth is on."""

    def next_call() -> tuple[str, dict[str, str]]:
        headers = {"Content-Type": "application/json"}
        if signer is not None:
            headers["Authorization"] = f"Bearer {signer.token(url)}"
        return json.dumps({**body, "hookInstance": str(uuid.uuid4())}), headers

    return next_call


def main() -> int:
    """Start the service, warm it up, load it, and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--sample", type=Path, default=DEFAULT_SAMPLE, help="sample Bundle or CDS Hooks request"
    )
    parser.add_argument("--auth", choices=["on", "off"], default="on")
    args = parser.parse_args()

    sample = load_sample(args.sample)
    body = sample.request
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/cds-services/{service_id_for(body)}"
    signer = ClientKey("ES384", "load-test-key", iss=ISSUER) if args.auth == "on" else None

    with tempfile.TemporaryDirectory(prefix="spine-cds-load-") as tmp:
        env = {
            **os.environ,
            "SPINE_CDS_AUTH": args.auth,
            "SPINE_CDS_PUBLIC_URL": base,
            "SPINE_CDS_DATABASE_URL": f"sqlite:///{tmp}/load.sqlite",
            "SPINE_CDS_PATIENT_HASH_KEY": uuid.uuid4().hex,
        }
        if signer is not None:
            issuers = Path(tmp) / "issuers.json"
            issuers.write_text(json.dumps({ISSUER: {"jwks": {"keys": [signer.jwk]}}}))
            env["SPINE_CDS_TRUSTED_ISSUERS"] = str(issuers)
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
        command = [
            sys.executable,
            "-c",
            "import sys; from cds_service.cli import main; sys.exit(main())",
            *serve,
        ]
        with running_server(command, port=port, log=Path(tmp) / "server.log", env=env) as server:
            calls = hook_calls(body, url, signer)
            warm = closed_loop(url, calls, concurrency=args.concurrency, seconds=0.1 + WARM_UP_CALLS / 100)
            workers = worker_pids(server.process.pid)
            rss_start = {pid: rss_kib(pid) for pid in workers}
            load = closed_loop(url, calls, concurrency=args.concurrency, seconds=args.seconds)
            rss_end = {pid: rss_kib(pid) for pid in workers}
        if warm.errors or load.errors:
            tail = (Path(tmp) / "server.log").read_text(errors="replace").splitlines()[-5:]
            print("server log tail:", *tail, sep="\n  ")

    report(args, sample.name, load, warm, rss_start, rss_end)
    return 1 if load.errors or warm.errors else 0


def report(
    args: argparse.Namespace,
    sample: str,
    load: LoadResult,
    warm: LoadResult,
    rss_start: dict[int, int],
    rss_end: dict[int, int],
) -> None:
    """Print the figures a release note needs."""
    done = len(load.latencies)
    print(
        f"sample: {sample}; auth {args.auth}; gunicorn {args.workers} workers; concurrency {args.concurrency}"
    )
    print(
        f"duration: {load.seconds:.1f} s; requests ok: {done}; errors: {load.error_count} {load.errors or ''}"
    )
    print(f"warm-up errors: {warm.error_count} {warm.errors or ''}")
    print(f"throughput: {load.rps:.1f} requests/s")
    p50, p99, slowest = load.percentile_ms(50), load.percentile_ms(99), max(load.latencies or [0.0]) * 1000
    print(f"latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {slowest:.1f} ms")
    for pid, start in rss_start.items():
        end = rss_end.get(pid, 0)
        print(f"worker {pid} RSS: {start / 1024:.1f} MiB -> {end / 1024:.1f} MiB ({end - start:+d} KiB)")


if __name__ == "__main__":
    sys.exit(main())
