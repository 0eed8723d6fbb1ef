"""Every sample bundle through the real HTTP service (`spine-cds serve`, gunicorn) on 127.0.0.1.

The pathway is read from the decision systemAction on the order and compared with the pathway the
bundle is tagged with (the guideline's answer, see sample_bundles/README.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cds_service import Settings
from cds_service.cards.decision_extension import read_decision
from cds_service.rules.model import Pathway
from cds_service.samples import NO_DECISION, expected_pathway, load_sample, sample_files, service_id_for
from tests.conftest import SAMPLES
from tests.fixtures import unavailable
from tests.invariants import assert_valid_hook_response
from tests.servers import ServerDidNotStart, spine_cds_serve

SAMPLE_FILES = sample_files(SAMPLES)
# The card a GP sees for each expected pathway with the sample's ordered test (None: no card).
EXPECTED_CARD = {
    "emergency-department": "critical",
    "imaging-not-indicated": "warning",
    "specialist-pathway": "warning",
    "no-decision": None,
}


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`spine-cds serve` (gunicorn, 2 workers) with auth off, on a free loopback port."""
    try:
        with spine_cds_serve(tmp_path_factory.mktemp("serve"), {"SPINE_CDS_AUTH": "off"}) as served:
            yield served.url
    except ServerDidNotStart as error:
        unavailable(str(error))


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
