"""`spine-cds serve` runs the service under gunicorn, in the foreground, with settings from the env."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.servers import spine_cds_serve


def test_serve_answers_discovery_and_hook_errors_under_gunicorn(tmp_path: Path) -> None:
    with spine_cds_serve(tmp_path, {"SPINE_CDS_AUTH": "off"}) as served:
        discovery = requests.get(f"{served.url}/cds-services", timeout=2)
        assert discovery.status_code == 200
        assert "gunicorn" in discovery.headers.get("Server", "")
        assert len(discovery.json()["services"]) == 2
        bad = requests.post(f"{served.url}/cds-services/spinal-imaging-order-sign", data="x", timeout=5)
        assert bad.status_code == 415
        assert bad.json()["resourceType"] == "OperationOutcome"
    assert served.process.returncode == 0
