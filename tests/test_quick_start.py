"""The README's quick start works when pasted: its shell block is run as a script, line by line.

The block runs in a scratch folder that holds only what a fresh clone gives it (links to the
repository's `.venv`, `sample_bundles` and `scripts`), with no SPINE_CDS_* setting inherited, on a
free loopback port instead of 8080. Its first line (`scripts/bootstrap.sh`) is left out: the test
command has just run it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fixtures import unavailable
from tests.servers import free_port

BOOTSTRAP = "scripts/bootstrap.sh"
SECONDS = 120


def quick_start_script() -> str:
    """The first ```sh block of the README's "## Quick start" section."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"^```sh\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    assert block is not None, "the quick start has no ```sh block"
    return block.group(1)


def test_the_quick_start_starts_with_the_install_and_uses_the_installed_command() -> None:
    lines = [line for line in quick_start_script().splitlines() if line.strip()]
    assert lines[0].startswith(BOOTSTRAP)
    serve = next(line for line in lines if " serve " in line)
    assert ".venv/bin/spine-cds serve" in serve and "SPINE_CDS_AUTH=off" in serve
    assert "--host 127.0.0.1" in serve


def run_pasted(script: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Run the block with bash (stopping at the first failing command), bounded in time; whatever
    it started is killed afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPINE_CDS_")}
    process = subprocess.Popen(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"the quick start did not finish in {SECONDS} s:\n{out}\n{err}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # a server left running by a failed block
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_the_quick_start_pasted_as_is_shows_the_urgent_mri_card_and_stops_the_service(
    tmp_path: Path,
) -> None:
    if shutil.which("curl") is None:
        unavailable("curl is not installed (apt-get install curl)")
    for name in (".venv", "sample_bundles", "scripts"):
        (tmp_path / name).symlink_to(REPO / name)
    port = free_port()
    script = quick_start_script()
    assert script.startswith(BOOTSTRAP)
    script = script.split("\n", 1)[1].replace("8080", str(port))

    result = run_pasted(script, tmp_path)

    log = tmp_path / "var" / "serve.log"
    server_log = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\nserver log:\n{server_log}"
    assert '"status": "ok"' in result.stdout or '"status":"ok"' in result.stdout
    assert '"id": "spinal-imaging-order-select"' in result.stdout
    assert '"id": "spinal-imaging-order-sign"' in result.stdout
    card_line = next(line for line in result.stdout.splitlines() if " | " in line)
    indicator, summary = card_line.split(" | ", 1)
    assert indicator == "warning"
    assert "MRI" in summary and "X-ray" in summary
    assert port_closes(port), "`kill %1` did not stop the service"


def port_closes(port: int) -> bool:
    """Whether nothing listens on the port any more, within 10 s (gunicorn stops gracefully)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.1)
    return False
