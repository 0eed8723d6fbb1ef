"""`spine-cds serve` runs the service under gunicorn, in the foreground, with settings from the env."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

SPINE_CDS = str(Path(sys.executable).parent / "spine-cds")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_answers_discovery_and_hook_errors_under_gunicorn(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, SPINE_CDS_AUTH="off", SPINE_CDS_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}")
    server = subprocess.Popen(
        [SPINE_CDS, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        discovery = None
        for _ in range(100):
            try:
                discovery = requests.get(f"{base}/cds-services", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                time.sleep(0.1)
        assert discovery is not None and discovery.status_code == 200
        assert "gunicorn" in discovery.headers.get("Server", "")
        assert len(discovery.json()["services"]) == 2
        bad = requests.post(f"{base}/cds-services/spinal-imaging-order-sign", data="x", timeout=5)
        assert bad.status_code == 415
        assert bad.json()["resourceType"] == "OperationOutcome"
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert server.returncode == 0
