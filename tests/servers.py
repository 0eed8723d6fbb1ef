"""Start `spine-cds serve` (or any HTTP server process) on a free loopback port and wait for it.

One place for what the HTTP tests and the benchmarks need: a free port, the process started with
its output in a log file, a readiness probe, a clean stop, and the log's tail when it fails to
start. Bench scripts import it after putting the repository on `sys.path`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
SPINE_CDS = Path(sys.executable).with_name("spine-cds")
READY_SECONDS = 30.0


class ServerDidNotStart(RuntimeError):
    """The process exited, or did not answer its probe in time; the message ends with its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RunningServer:
    """A started server: its base URL, its process (for the exit status) and its log file."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the process wrote, for failure messages."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Ask the process to stop; kill it if it has not within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server(
    command: list[str],
    *,
    port: int,
    log: Path,
    env: Mapping[str, str] | None = None,
    probe: str = "/healthz",
    cwd: Path = REPO,
) -> Iterator[RunningServer]:
    """Run `command` (which listens on `port`), yield once `probe` answers 200, stop it after."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=dict(env or os.environ), stdout=out, stderr=subprocess.STDOUT
        )
    server = RunningServer(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                if requests.get(f"{server.url}{probe}", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                state = f"exited with {process.returncode}" if process.poll() is not None else "timed out"
                raise ServerDidNotStart(f"{' '.join(command)} {state}; its log ends:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        stop_process(process)


@contextmanager
def spine_cds_serve(
    workdir: Path, env: Mapping[str, str] | None = None, *, workers: int = 2
) -> Iterator[RunningServer]:
    """`spine-cds serve` (gunicorn) on a free loopback port, its decision log a SQLite file in `workdir`.

    `env` is added to this process's environment (SPINE_CDS_* settings); it may override the database.
    SPINE_CDS_PUBLIC_URL is the URL served, so client JWTs are checked against the URL they call.
    """
    if not SPINE_CDS.exists():
        raise ServerDidNotStart(f"{SPINE_CDS} is not installed (run scripts/bootstrap.sh)")
    port = free_port()
    full_env = {
        **os.environ,
        "SPINE_CDS_DATABASE_URL": f"sqlite:///{workdir / 'spine-cds.sqlite'}",
        "SPINE_CDS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **(env or {}),
    }
    command = [str(SPINE_CDS), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with running_server(command, port=port, log=workdir / "serve.log", env=full_env) as server:
        yield server
