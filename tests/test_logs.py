"""What an operator reads: every log line JSON, start-up warnings once per server, no false alarm.

`spine-cds serve` says the guideline's review warning and the exposure warnings once, in gunicorn's
master, not once per worker; gunicorn's own lines are JSON like the service's. The in-process
commands (`evaluate`, `demo`) say nothing about exposure: they serve no one.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.servers import SPINE_CDS, spine_cds_serve

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_bundles" / "03-xray-for-suspected-metastases.json"
GUIDELINE_WARNING = "was due for review"
ALARMS = ("anyone who can reach", "AUTHENTICATION IS OFF", "PATIENT_HASH_KEY", "SECRET_KEY")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line parsed as a JSON object; fails naming the first line that is not one."""
    entries = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"a log line is not JSON: {line[:200]}")
        assert isinstance(entry, dict), line
        assert {"time", "level", "logger", "message"} <= entry.keys(), line
        entries.append(entry)
    return entries


def messages_with(entries: list[dict[str, Any]], words: str) -> list[dict[str, Any]]:
    return [e for e in entries if words in e["message"]]


def test_a_served_service_logs_only_json_and_warns_once_not_once_per_worker(tmp_path: Path) -> None:
    env = {"SPINE_CDS_AUTH": "off"}
    with spine_cds_serve(tmp_path, env, workers=3) as server:
        demo = subprocess.run(
            [str(SPINE_CDS), "demo", "--url", server.url],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    entries = json_lines(server.log.read_text())
    assert len(messages_with(entries, GUIDELINE_WARNING)) == 1
    assert len(messages_with(entries, "AUTHENTICATION IS OFF")) == 1
    assert len(messages_with(entries, "SPINE_CDS_PATIENT_HASH_KEY")) == 1
    gunicorn = {e["message"].split(" with pid")[0] for e in entries if e["logger"].startswith("gunicorn")}
    assert {"Booting worker", "Shutting down: Master"} <= gunicorn
    assert any(e["logger"] == "cds_service.access" for e in entries), "the demo's calls were logged"
    # The demo is a client of the served service: it reports the samples (whether each pathway is
    # the expected one is the clinical tests' business), and raises no alarm.
    assert "samples got their expected pathway" in demo.stdout, demo.stdout + demo.stderr
    assert not any(alarm in demo.stdout + demo.stderr for alarm in ALARMS)


def test_evaluate_prints_the_advice_and_says_nothing_about_exposure() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPINE_CDS_")}
    run = subprocess.run(
        [str(SPINE_CDS), "evaluate", str(SAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert "Pathway" in run.stdout or "pathway" in run.stdout
    entries = json_lines(run.stderr)
    assert not any(alarm in run.stdout + run.stderr for alarm in ALARMS)
    # The clinician is still told that the guideline is overdue for review, once.
    assert len(messages_with(entries, GUIDELINE_WARNING)) == 1
    assert not any(e["logger"] == "cds_service.access" for e in entries)
