"""Every sample bundle through the real HTTP service (`spine-cds serve`, gunicorn) on 127.0.0.1.

The pathway is read from the decision systemAction on the order and compared with the pathway the
bundle is tagged with (the guideline's answer, see sample_bundles/README.md).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cds_service import Settings
from cds_service.cards.decision_extension import read_decision
from cds_service.rules.model import Pathway
from cds_service.samples import NO_DECISION, expected_pathway, load_sample, sample_files, service_id_for
from tests.conftest import REPO, SAMPLES
from tests.invariants import assert_valid_hook_response

SAMPLE_FILES = sample_files(SAMPLES)
SPINE_CDS = Path(sys.executable).with_name("spine-cds")
# The card a GP sees for each expected pathway with the sample's ordered test (None: no card).
EXPECTED_CARD = {
    "emergency-department": "critical",
    "imaging-not-indicated": "warning",
    "specialist-pathway": "warning",
    "no-decision": None,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`spine-cds serve` (gunicorn, 2 workers) with auth off, on a free loopback port."""
    if not SPINE_CDS.exists():
        _unavailable(f"{SPINE_CDS} is not installed (run scripts/bootstrap.sh)")
    scratch = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {
        **os.environ,
        "SPINE_CDS_AUTH": "off",
        "SPINE_CDS_DATABASE_URL": f"sqlite:///{scratch / 'samples.sqlite'}",
    }
    log = (scratch / "serve.log").open("w")
    server = subprocess.Popen(
        [str(SPINE_CDS), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                _unavailable("spine-cds serve did not start: " + (scratch / "serve.log").read_text()[-2000:])
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_there_are_enough_samples_to_cover_every_pathway() -> None:
    tags = {expected_pathway(json.loads(p.read_text("utf-8"))) for p in SAMPLE_FILES}
    assert len(SAMPLE_FILES) >= 14
    assert {p.value for p in Pathway} | {NO_DECISION} <= tags


def test_the_readme_table_agrees_with_the_tags() -> None:
    readme = (SAMPLES / "README.md").read_text("utf-8")
    table = dict(re.findall(r"^\| `([^`]+\.json)` \| .+ \| `([a-z-]+)` \|$", readme, flags=re.MULTILINE))
    tagged = {p.name: expected_pathway(json.loads(p.read_text("utf-8"))) for p in SAMPLE_FILES}
    assert table == tagged


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.stem for p in SAMPLE_FILES])
def test_sample_gets_its_expected_pathway_over_http(service_url: str, path: Path) -> None:
    sample = load_sample(path)
    response = requests.post(
        f"{service_url}/cds-services/{service_id_for(sample.request)}", json=sample.request, timeout=10
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert_valid_hook_response(body)
    settings = Settings(auth="off")
    decisions = [read_decision(a["resource"], settings) for a in body.get("systemActions", [])]
    got = [d["pathway"] for d in decisions if d] or [NO_DECISION]
    assert got == [sample.expected]
    cards = body["cards"]
    assert len(cards) <= 1
    order_ref = sample.request["context"]["selections"][0]
    if sample.expected in EXPECTED_CARD:
        assert [c["indicator"] for c in cards] == [x for x in [EXPECTED_CARD[sample.expected]] if x]
    for card in cards:
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                if action["type"] == "delete":
                    assert action["resourceId"] == order_ref
                elif action["type"] == "update":
                    assert f"ServiceRequest/{action['resource']['id']}" == order_ref
