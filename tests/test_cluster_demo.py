"""Several nodes, proven: `bench/cluster_demo.py` (what scripts/cluster-demo.sh runs) in short mode.

Two `spine-cds serve` nodes on one PostgreSQL behind nginx with TLS, client authentication on, all
on 127.0.0.1; node b is killed (SIGKILL) under load and restarted. The script checks the invariants
itself and exits non-zero when one breaks; its report is shown when it does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fixtures import unavailable
from tests.fixtures.postgres import _pg_bin

SECONDS = 8
TIMEOUT = 300


@pytest.mark.postgres
def test_two_nodes_behind_nginx_lose_only_the_calls_in_flight_on_the_node_that_is_killed() -> None:
    if not Path("/usr/sbin/nginx").exists() or shutil.which("openssl") is None:
        unavailable("nginx or openssl is not installed (scripts/bootstrap.sh --test installs them)")
    if _pg_bin() is None:
        unavailable("PostgreSQL is not installed (scripts/bootstrap.sh --test installs it)")
    process = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "cluster_demo.py"), "--seconds", str(SECONDS)],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("SPINE_CDS_")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.terminate()  # the demo stops nginx, the nodes and PostgreSQL on SIGTERM
        out, err = process.communicate(timeout=60)
        pytest.fail(f"the cluster demo did not finish in {TIMEOUT} s:\n{out}\n{err}")
    report = f"{out}\n{err}"
    assert process.returncode == 0, report
    assert "all invariants hold" in out, report
    assert "[BROKEN]" not in out, report
