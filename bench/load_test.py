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
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the tests' server helper

from cds_service.samples import load_sample, service_id_for  # noqa: E402
from tests.servers import free_port, running_server  # noqa: E402

DEFAULT_SAMPLE = REPO / "sample_bundles" / "02-resolved-breast-cancer-new-thoracic-pain.json"
ISSUER = "https://load-test.invalid"
KID = "load-test-key"
MAX_REQUESTS = 200_000  # hard cap whatever the duration
WARM_UP_CALLS = 50


class Signer:
    """Signs one CDS Hooks client JWT per call with a throwaway ES384 key."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP384R1())
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": KID, "alg": "ES384", "use": "sig"}]}

    def token(self, aud: str) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": KID, "typ": "JWT"})


def worker_pids(master: int) -> list[int]:
    """gunicorn's worker processes: the master's children."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Load:
    """Fixed-concurrency closed-loop client: each thread sends its next call when the last returns."""

    def __init__(self, url: str, body: dict[str, Any], signer: Signer | None) -> None:
        self.url = url
        self.body = body
        self.signer = signer
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()

    def call(self, session: requests.Session) -> None:
        body = {**self.body, "hookInstance": str(uuid.uuid4())}
        headers = {"Content-Type": "application/json"}
        if self.signer is not None:
            headers["Authorization"] = f"Bearer {self.signer.token(self.url)}"
        data = json.dumps(body)
        started = time.perf_counter()
        try:
            response = session.post(self.url, data=data, headers=headers, timeout=10)
            outcome = "ok" if response.status_code == 200 else f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            outcome = type(exc).__name__
        elapsed = time.perf_counter() - started
        with self.lock:
            if outcome == "ok":
                self.latencies.append(elapsed)
            else:
                self.errors[outcome] = self.errors.get(outcome, 0) + 1

    def run(self, concurrency: int, seconds: float) -> float:
        stop = time.monotonic() + seconds
        sent = [0]

        def loop() -> None:
            with requests.Session() as session:
                while time.monotonic() < stop:
                    with self.lock:
                        if sent[0] >= MAX_REQUESTS:
                            return
                        sent[0] += 1
                    self.call(session)

        started = time.monotonic()
        threads = [threading.Thread(target=loop) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started


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
    signer = Signer() if args.auth == "on" else None

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
            issuers.write_text(json.dumps({ISSUER: {"jwks": signer.jwks}}))
            env["SPINE_CDS_TRUSTED_ISSUERS"] = str(issuers)
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
        command = [
            sys.executable,
            "-c",
            "import sys; from cds_service.cli import main; sys.exit(main())",
            *serve,
        ]
        with running_server(command, port=port, log=Path(tmp) / "server.log", env=env) as server:
            warm = Load(url, body, signer)
            warm.run(concurrency=args.concurrency, seconds=0.1 + WARM_UP_CALLS / 100)
            workers = worker_pids(server.process.pid)
            rss_start = {pid: rss_kib(pid) for pid in workers}
            load = Load(url, body, signer)
            elapsed = load.run(concurrency=args.concurrency, seconds=args.seconds)
            rss_end = {pid: rss_kib(pid) for pid in workers}
        if warm.errors or load.errors:
            tail = (Path(tmp) / "server.log").read_text(errors="replace").splitlines()[-5:]
            print("server log tail:", *tail, sep="\n  ")

    report(args, sample.name, elapsed, load, warm, rss_start, rss_end)
    return 1 if load.errors or warm.errors else 0


def report(
    args: argparse.Namespace,
    sample: str,
    elapsed: float,
    load: Load,
    warm: Load,
    rss_start: dict[int, int],
    rss_end: dict[int, int],
) -> None:
    """Print the figures a release note needs."""
    done = len(load.latencies)
    cuts = statistics.quantiles(load.latencies, n=100) if done >= 2 else [float("nan")] * 99
    errors = sum(load.errors.values())
    print(
        f"sample: {sample}; auth {args.auth}; gunicorn {args.workers} workers; concurrency {args.concurrency}"
    )
    print(f"duration: {elapsed:.1f} s; requests ok: {done}; errors: {errors} {load.errors or ''}")
    print(f"warm-up errors: {sum(warm.errors.values())} {warm.errors or ''}")
    print(f"throughput: {done / elapsed:.1f} requests/s")
    slowest = max(load.latencies or [0.0]) * 1000
    print(f"latency: p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms, max {slowest:.1f} ms")
    for pid, start in rss_start.items():
        end = rss_end.get(pid, 0)
        print(f"worker {pid} RSS: {start / 1024:.1f} MiB -> {end / 1024:.1f} MiB ({end - start:+d} KiB)")


if __name__ == "__main__":
    sys.exit(main())
