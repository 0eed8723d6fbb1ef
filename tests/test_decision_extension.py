"""The decision travels on the order: a systemAction update that only adds our extensions."""

from __future__ import annotations

import copy

from flask.testing import FlaskClient

from cds_service import Settings
from cds_service.cards import build_response
from cds_service.cards.decision_extension import (
    PAMA_CONSULT_ID_URL,
    PAMA_RATING_SYSTEM,
    PAMA_RATING_URL,
    read_decision,
)
from cds_service.knowledge import load_knowledge
from cds_service.rules.model import Modality, Pathway
from tests.card_decisions import CONSULT_ID, decision
from tests.clinical.builders import condition, decision_for, record, years_ago
from tests.hook_requests import MRI_LUMBAR, SIGN_URL, hook_call, service_request

KNOWLEDGE = load_knowledge()
BASE = "https://spine-cds.example.org/fhir"


def test_the_order_is_returned_unchanged_except_for_the_decision_extensions() -> None:
    d = decision(Pathway.URGENT_MRI_SUSPECTED_CANCER, Modality.XRAY)
    original = copy.deepcopy(d.order.resource)
    response = build_response([d], knowledge=KNOWLEDGE, settings=Settings(auth="off"), hook="order-sign")
    (action,) = response.to_json()["systemActions"]
    assert action["type"] == "update"
    assert "ServiceRequest/mri-1" in action["description"]
    resource = dict(action["resource"])
    extensions = resource.pop("extension")
    assert resource == original
    assert d.order.resource == original  # the draft the rules read is not mutated
    by_url = {e["url"]: e for e in extensions}
    decision_ext = by_url[f"{BASE}/StructureDefinition/spinal-imaging-decision"]
    parts = [
        (p["url"], p.get("valueCode") or p.get("valueUri") or p.get("valueCoding"))
        for p in decision_ext["extension"]
    ]
    assert parts == [
        ("pathway", "urgent-mri-suspected-cancer"),
        ("redFlag", "history-of-cancer"),
        ("redFlag", "thoracic-pain"),
        ("rating", {"system": PAMA_RATING_SYSTEM, "code": "appropriate"}),
        ("consultId", CONSULT_ID),
    ]
    assert by_url[PAMA_RATING_URL] == {
        "url": PAMA_RATING_URL,
        "valueCodeableConcept": {"coding": [{"system": PAMA_RATING_SYSTEM, "code": "appropriate"}]},
    }
    assert by_url[PAMA_CONSULT_ID_URL] == {"url": PAMA_CONSULT_ID_URL, "valueUri": CONSULT_ID}


def test_a_refired_hook_replaces_the_earlier_decision_instead_of_stacking_it() -> None:
    d = decision(Pathway.IMAGING_NOT_INDICATED)
    settings = Settings(auth="off")
    first = build_response([d], knowledge=KNOWLEDGE, settings=settings, hook="order-select").to_json()
    annotated = first["systemActions"][0]["resource"]
    annotated["extension"].insert(0, {"url": "http://example.org/other", "valueString": "kept"})
    again = decision(Pathway.IMAGING_NOT_INDICATED)
    again.order.resource["extension"] = annotated["extension"]
    second = build_response([again], knowledge=KNOWLEDGE, settings=settings, hook="order-select").to_json()
    urls = [e["url"] for e in second["systemActions"][0]["resource"]["extension"]]
    assert urls.count(PAMA_RATING_URL) == 1
    assert urls[0] == "http://example.org/other"


def test_mirroring_puts_the_same_actions_where_the_sandbox_reads_them() -> None:
    d = decision(Pathway.IMAGING_NOT_INDICATED)
    plain = build_response(
        [d], knowledge=KNOWLEDGE, settings=Settings(auth="off"), hook="order-select"
    ).to_json()
    assert "extension" not in plain
    mirrored = build_response(
        [d],
        knowledge=KNOWLEDGE,
        settings=Settings(auth="off", mirror_system_actions=True),
        hook="order-select",
    ).to_json()
    assert mirrored["extension"]["systemActions"] == mirrored["systemActions"]


def test_the_canonical_base_setting_names_the_extension_and_the_decision_reads_back() -> None:
    settings = Settings(auth="off", canonical_base="https://cds.example.nhs.uk/fhir")
    d = decision(Pathway.EMERGENCY_DEPARTMENT)
    action = build_response([d], knowledge=KNOWLEDGE, settings=settings, hook="order-sign").to_json()[
        "systemActions"
    ][0]
    assert read_decision(action["resource"], settings) == {
        "pathway": "emergency-department",
        "redFlags": ["bladder-or-bowel-dysfunction", "saddle-anaesthesia"],
        "rating": "not-appropriate",
        "consultId": CONSULT_ID,
    }
    assert read_decision(action["resource"], Settings(auth="off")) is None


def test_no_spinal_orders_means_no_cards_and_no_system_actions() -> None:
    response = build_response([], knowledge=KNOWLEDGE, settings=Settings(auth="off"), hook="order-select")
    assert response.to_json() == {"cards": []}


def test_a_sandbox_draft_with_an_empty_coding_comes_back_without_empty_values(client: FlaskClient) -> None:
    order = service_request(MRI_LUMBAR, status="draft")
    order["code"]["coding"].append({})  # the PAMA screen sends an empty Coding next to the study
    order["note"] = []
    order["performer"] = None
    response = client.post(SIGN_URL, json=hook_call([order], hook="order-sign"))
    assert response.status_code == 200
    (action,) = response.get_json()["systemActions"]
    sent_back = action["resource"]
    assert sent_back["code"]["coding"] == [MRI_LUMBAR]
    assert "note" not in sent_back
    assert "performer" not in sent_back


def test_an_order_whose_words_look_like_empty_values_comes_back_word_for_word(client: FlaskClient) -> None:
    order = service_request(MRI_LUMBAR, status="draft")
    order["note"] = [{"text": 'Pain score null, "" on the form, {} [] in the old system'}]
    order["priority"] = "routine"
    response = client.post(SIGN_URL, json=hook_call([order], hook="order-sign"))
    (action,) = response.get_json()["systemActions"]
    sent_back = action["resource"]
    sent_back.pop("extension")
    assert sent_back == order


def test_the_decision_carries_what_is_suspected_and_the_flags_behind_it() -> None:
    settings = Settings(auth="off")
    rec = record(
        condition("86406008", "Human immunodeficiency virus infection", onset=years_ago(4)),
        condition("42984000", "Night sweats"),
    )
    d = decision_for(rec)
    action = build_response([d], knowledge=KNOWLEDGE, settings=settings, hook="order-sign").to_json()[
        "systemActions"
    ][0]
    read = read_decision(action["resource"], settings)
    assert read is not None
    assert read["pathway"] == "mri-with-infection-bloods"
    assert read["suspicions"][0] == {
        "condition": "infection",
        "level": "high",
        "redFlags": ["hiv", "night-sweats"],
    }
    assert {"condition": "malignancy", "level": "low", "redFlags": ["night-sweats"]} in read["suspicions"]
    ours = next(e for e in action["resource"]["extension"] if e["url"].endswith("spinal-imaging-decision"))
    coding = next(p for p in ours["extension"] if p["url"] == "suspicion")["extension"][0]["valueCoding"]
    assert coding["system"] == f"{settings.canonical_base}/CodeSystem/suspected-condition"
