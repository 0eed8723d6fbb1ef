"""The README's quick start works when pasted: its shell block is run as a script, line by line.

The block runs in a scratch folder that holds only what a fresh clone gives it (links to the
repository's `.venv`, `sample_bundles` and `scripts`), with no SPINE_CDS_* setting inherited, on a
free loopback port instead of 8080. Its first line (`scripts/bootstrap.sh`) is left out: the test
command has just run it. The service it starts is still running when the block ends (the README
then says to open the red-flag check link and to stop it with `kill %1`); the test opens the link,
then stops everything the block started.
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
import requests

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


def test_the_quick_start_installs_first_and_starts_the_installed_command_on_loopback_without_auth() -> None:
    script = quick_start_script()
    assert script.startswith(BOOTSTRAP)
    serve = script.split(" serve ", 1)[0].rsplit("\n\n", 1)[-1] + " serve " + script.split(" serve ", 1)[1]
    assert ".venv/bin/spine-cds serve --host 127.0.0.1" in serve
    assert "SPINE_CDS_AUTH=off" in serve


def port_closes(port: int) -> bool:
    """Whether nothing listens on the port any more, within 10 s (gunicorn stops gracefully)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.1)
    return False


def test_the_quick_start_pasted_as_is_shows_the_urgent_mri_card_and_a_working_red_flag_check_link(
    tmp_path: Path,
) -> None:
    if shutil.which("curl") is None:
        unavailable("curl is not installed (apt-get install curl)")
    for name in (".venv", "sample_bundles", "scripts"):
        (tmp_path / name).symlink_to(REPO / name)
    port = free_port()
    script = quick_start_script().split("\n", 1)[1].replace("8080", str(port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPINE_CDS_")}
    process = subprocess.Popen(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        try:
            out, err = process.communicate(timeout=SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            pytest.fail(f"the quick start did not finish in {SECONDS} s:\n{out}\n{err}")
        log = tmp_path / "var" / "serve.log"
        server_log = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
        assert process.returncode == 0, f"{out}\n{err}\nserver log:\n{server_log}"
        assert '"status":"ok"' in out.replace(" ", "")
        assert '"id": "spinal-imaging-order-select"' in out
        assert '"id": "spinal-imaging-order-sign"' in out
        indicator, summary = next(line for line in out.splitlines() if " | " in line).split(" | ", 1)
        assert indicator == "warning"
        assert "MRI" in summary and "X-ray" in summary
        link = out.strip().splitlines()[-1]
        assert link.startswith(f"http://127.0.0.1:{port}/check/")
        page = requests.get(link, timeout=10)
        assert page.status_code == 200
        assert "saddle" in page.text.lower()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # what `kill %1` does to the service
    assert port_closes(port)
