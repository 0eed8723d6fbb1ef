"""HTTP benchmark: a spinal order hook call under `spine-cds serve` against hello-world Flask.

Both run under the same production server (gunicorn via cds_service.cli.serve, 2 workers) on
127.0.0.1, one after the other in the same run, at concurrency 16; the report gives requests/s,
p50/p99 and the server's CPU per request (master and workers, from /proc) for each, and the
service/hello throughput ratio (target >= 0.5).

    .venv/bin/python bench/bench_http.py [--seconds 10] [--runs 2] [--request FILE] [--floor]

With --floor, two floor apps (bench/floor_app.py) run under the same server and load in each run:
the same request answered with the same card bytes, without and with the decision-log write every
call must make; they show how much of the gap to hello-world no implementation can close.

The load generator is `wrk` when installed (apt-get install wrk), else a bounded thread pool with
`requests`. Each hook call carries a fresh hookInstance, as real clients send.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import requests
from flask import Flask

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the load generator and the tests' server helper

from bench.closed_loop import closed_loop  # noqa: E402
from bench.floor_app import floor_app  # noqa: E402
from cds_service.cli.serve import ProductionServer  # noqa: E402
from cds_service.samples import load_sample, service_id_for  # noqa: E402
from tests.servers import free_port, running_server, spine_cds_serve  # noqa: E402

CONCURRENCY = 16
WORKERS = 2
INSTANCE_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"
# The commonest call in practice: a GP orders a lumbar MRI for back pain with no red flags.
DEFAULT_SAMPLE = REPO / "sample_bundles" / "17-acute-low-back-pain-no-red-flags.json"


def serve_floor(port: int, sample: Path, *, log: bool) -> None:
    """Run a floor app (bench/floor_app.py) under the same gunicorn wrapper."""
    options = {"bind": f"127.0.0.1:{port}", "workers": WORKERS, "accesslog": None, "errorlog": "-"}
    ProductionServer(lambda: floor_app(sample, log=log), options).run()


def serve_hello(port: int) -> None:
    """Run hello-world Flask under the same gunicorn wrapper `spine-cds serve` uses."""

    def hello_app() -> Flask:
        app = Flask("hello")
        app.add_url_rule("/", "hello", lambda: {"hello": "world"}, methods=["GET", "POST"])
        return app

    options = {"bind": f"127.0.0.1:{port}", "workers": WORKERS, "accesslog": None, "errorlog": "-"}
    ProductionServer(hello_app, options).run()


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def run_wrk(url: str, body: str | None, seconds: int, workdir: Path) -> dict[str, float]:
    """Load with wrk; each POST gets a fresh hookInstance from a Lua request() hook."""
    script = workdir / "load.lua"
    lua = 'wrk.headers["Content-Type"] = "application/json"\n'
    if body is not None:
        (workdir / "body.json").write_text(body)
        lua += (
            f'local f = io.open("{workdir / "body.json"}", "rb")\n'
            "local template = f:read('*a')\nf:close()\n"
            "math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))\n"
            "request = function()\n"
            "  local id = string.format('%08x-%04x-4%03x-a%03x-%012x', math.random(0, 2147483646),"
            " math.random(0, 65535), math.random(0, 4095), math.random(0, 4095),"
            " math.random(0, 2147483646))\n"
            f"  return wrk.format('POST', nil, nil, (template:gsub('{INSTANCE_PLACEHOLDER}', id)))\n"
            "end\n"
        )
    script.write_text(lua)
    cmd = ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)

    def ms(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
        return float(value) * _UNIT[unit]

    return {
        "rps": rps,
        "p50_ms": ms(pct["50"]),
        "p99_ms": ms(pct["99"]),
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def run_threads(url: str, body: str | None, seconds: int) -> dict[str, float]:
    """Load with CONCURRENCY threads for a bounded time (when wrk is not installed)."""

    def next_call() -> tuple[str | None, dict[str, str]]:
        if body is None:
            return None, {}
        return body.replace(INSTANCE_PLACEHOLDER, str(uuid.uuid4())), {"Content-Type": "application/json"}

    result = closed_loop(url, next_call, concurrency=CONCURRENCY, seconds=seconds)
    return {
        "rps": result.rps,
        "p50_ms": result.percentile_ms(50),
        "p99_ms": result.percentile_ms(99),
        "errors": float(result.error_count),
        "socket_errors": 0.0,
    }


def server_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) so far of a process and all its descendants (gunicorn's workers);
    0.0 where /proc is not there to read."""
    total, pending = 0.0, [pid]
    ticks = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        pending.extend(int(child) for child in children)
    return total


def measure(
    url: str, body: str | None, seconds: int, workdir: Path, use_wrk: bool, server_pid: int
) -> dict[str, float]:
    """Warm up briefly, then load for `seconds`; also the server's CPU per request (microseconds)."""
    warm = min(2, seconds)
    load = run_wrk if use_wrk else (lambda u, b, s, _w: run_threads(u, b, s))
    load(url, body, warm, workdir)
    cpu_before = server_cpu_seconds(server_pid)
    result = load(url, body, seconds, workdir)
    requests_served = result["rps"] * seconds
    result["server_cpu_us"] = (server_cpu_seconds(server_pid) - cpu_before) / requests_served * 1e6
    return result


def one_run(
    args: argparse.Namespace, body: str, hook_path: str, workdir: Path, env: dict[str, str], use_wrk: bool
) -> dict[str, dict[str, float]]:
    """Hello-world, then the service, each under the same gunicorn settings: one paired measurement."""
    results = {}
    port = free_port()
    hello = [sys.executable, __file__, "--serve-hello", str(port)]
    with running_server(hello, port=port, log=workdir / "hello.log", env=env, probe="/") as served:
        results["hello-world Flask"] = measure(
            f"{served.url}/", None, args.seconds, workdir, use_wrk, served.process.pid
        )
    if args.floor:
        for name, flag in (("floor: answer", "--serve-floor"), ("floor: answer+log", "--serve-floor-log")):
            port = free_port()
            floor = [sys.executable, __file__, flag, str(port), "--request", str(args.request)]
            with running_server(floor, port=port, log=workdir / "floor.log", env=env, probe="/") as served:
                results[name] = measure(
                    f"{served.url}/", body, args.seconds, workdir, use_wrk, served.process.pid
                )
    with spine_cds_serve(workdir, env, workers=WORKERS) as served:
        check = requests.post(
            f"{served.url}{hook_path}",
            data=body.replace(INSTANCE_PLACEHOLDER, str(uuid.uuid4())),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        if check.status_code != 200:
            raise SystemExit(f"the sample call answers {check.status_code}: {check.text[:300]}")
        results["spine-cds hook call"] = measure(
            f"{served.url}{hook_path}", body, args.seconds, workdir, use_wrk, served.process.pid
        )
    return results


def main() -> int:
    """Run both servers in turn and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="load duration per server (default 10)")
    parser.add_argument(
        "--request",
        type=Path,
        default=DEFAULT_SAMPLE,
        help=f"sample Bundle or CDS Hooks request to send (default {DEFAULT_SAMPLE.relative_to(REPO)})",
    )
    parser.add_argument(
        "--runs", type=int, default=2, help="paired hello/service runs; the ratio's median is reported"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure the floor apps (bench/floor_app.py): the request answered, with and without"
        " the decision-log write",
    )
    parser.add_argument("--serve-hello", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor-log", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--threads", action="store_true", help="use the Python load generator even if wrk exists"
    )
    args = parser.parse_args()
    if args.serve_hello:
        serve_hello(args.serve_hello)
        return 0
    if args.serve_floor or args.serve_floor_log:
        serve_floor(args.serve_floor or args.serve_floor_log, args.request, log=bool(args.serve_floor_log))
        return 0

    call = load_sample(args.request).request  # a sample Bundle made into a request, or a request file
    hook_path = f"/cds-services/{service_id_for(call)}"
    call["hookInstance"] = INSTANCE_PLACEHOLDER
    body = json.dumps(call)
    use_wrk = shutil.which("wrk") is not None and not args.threads
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = dict(os.environ)
        env.update(
            SPINE_CDS_AUTH="off",
            SPINE_CDS_DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite'}",
            SPINE_CDS_PATIENT_HASH_KEY="bench-only-key",
        )
        runs = []
        for _ in range(args.runs):
            runs.append(one_run(args, body, hook_path, workdir, env, use_wrk))

    generator = "wrk -t2" if use_wrk else "Python threads"
    print(
        f"gunicorn {WORKERS} workers, concurrency {CONCURRENCY}, {args.seconds} s each, load by {generator}"
    )
    for number, results in enumerate(runs, 1):
        for name, r in results.items():
            print(
                f"run {number}  {name:22} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms"
                f"  p99 {r['p99_ms']:6.2f} ms  server CPU {r['server_cpu_us']:6.0f} us/request"
                f"  errors {int(r['errors'] + r['socket_errors'])}"
            )
    for name in runs[0]:
        if name.startswith("floor"):
            floor_ratios = [r[name]["rps"] / r["hello-world Flask"]["rps"] for r in runs]
            ratio = statistics.median(floor_ratios)
            print(f"{name}/hello = {ratio:.2f} (the best a service doing only this can reach)")
    ratios = [r["spine-cds hook call"]["rps"] / r["hello-world Flask"]["rps"] for r in runs]
    listed = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    print(
        f"throughput ratio service/hello = {statistics.median(ratios):.2f} (runs: {listed}; target >= 0.50)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
