"""The card each pathway gets: indicator, wording limits, one-click actions on the real order."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from cds_service import Settings
from cds_service.cards import build_response
from cds_service.cards.catalogue import OVERRIDE_REASON_SYSTEM
from cds_service.cards.ids import card_uuid, suggestion_uuid
from cds_service.knowledge import load_knowledge
from cds_service.rules.model import Decision, Evidence, Modality, Pathway, RedFlagId, Region
from tests.card_decisions import CONSULT_ID, decision
from tests.invariants import assert_valid_hook_response

KNOWLEDGE = load_knowledge()
DEFAULT = Settings(auth="off")


def respond(*decisions: Decision, settings: Settings = DEFAULT) -> dict[str, Any]:
    body = build_response(decisions, knowledge=KNOWLEDGE, settings=settings, hook="order-select").to_json()
    assert_valid_hook_response(body)
    return body


def only_card(*decisions: Decision, settings: Settings = DEFAULT) -> dict[str, Any]:
    cards = respond(*decisions, settings=settings)["cards"]
    assert len(cards) == 1
    card: dict[str, Any] = cards[0]
    return card


def actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for s in card.get("suggestions", []) for a in s["actions"]]


def test_cauda_equina_is_critical_and_cancels_the_outpatient_order() -> None:
    card = only_card(decision(Pathway.EMERGENCY_DEPARTMENT))
    assert card["indicator"] == "critical"
    assert "emergency department" in card["summary"]
    assert "emergency department now" in card["detail"]
    (suggestion,) = card["suggestions"]
    assert suggestion["actions"] == [
        {
            "type": "delete",
            "description": suggestion["actions"][0]["description"],
            "resourceId": "ServiceRequest/mri-1",
        }
    ]
    assert not any(r["code"].startswith("red-flag-not-recorded") for r in card["overrideReasons"])


def test_xray_for_suspected_metastases_is_the_wrong_test_and_offers_an_urgent_mri() -> None:
    card = only_card(decision(Pathway.URGENT_MRI_SUSPECTED_CANCER, Modality.XRAY))
    assert card["indicator"] == "warning"
    assert "cannot exclude" in card["summary"]
    (update,) = actions(card)
    assert update["type"] == "update"
    resource = update["resource"]
    assert resource["id"] == "mri-1"
    assert resource["priority"] == "urgent"
    assert any("Suspected malignancy" in r.get("text", "") for r in resource["reasonCode"])
    assert {
        "system": "http://www.ama-assn.org/go/cpt",
        "code": "72148",
        "display": resource["code"]["coding"][2]["display"],
    } in resource["code"]["coding"]
    assert any(link["url"].endswith("/ng12") for link in card["links"])


def test_mri_for_suspected_cancer_is_supported_and_asks_to_state_suspected_cancer() -> None:
    card = only_card(decision(Pathway.URGENT_MRI_SUSPECTED_CANCER, Modality.MRI))
    assert card["indicator"] == "info"
    (update,) = actions(card)
    assert update["resource"]["code"] == decision(Pathway.URGENT_MRI_SUSPECTED_CANCER).order.resource["code"]
    assert update["resource"]["priority"] == "urgent"


def test_suspected_infection_without_recent_bloods_orders_crp_and_full_blood_count() -> None:
    card = only_card(decision(Pathway.MRI_WITH_INFECTION_BLOODS, Modality.MRI))
    assert card["indicator"] == "info"
    assert card["selectionBehavior"] == "any"
    created = [a["resource"] for a in actions(card) if a["type"] == "create"]
    codes = {c["code"] for r in created for c in r["code"]["coding"]}
    assert codes == {"1988-5", "58410-2"}
    assert all(r["subject"] == {"reference": "Patient/p1"} and r["status"] == "draft" for r in created)


def test_suspected_infection_with_recent_bloods_and_an_mri_stays_quiet_but_records_the_decision() -> None:
    crp = (Evidence("Observation/crp1", "CRP 45 mg/L", None, "2025-02-28", "observation"),)
    response = respond(decision(Pathway.MRI_WITH_INFECTION_BLOODS, Modality.MRI, recent_bloods=crp))
    assert response["cards"] == []
    assert len(response["systemActions"]) == 1


def test_suspected_infection_with_a_ct_ordered_offers_mri_and_bloods() -> None:
    card = only_card(decision(Pathway.MRI_WITH_INFECTION_BLOODS, Modality.CT))
    assert card["indicator"] == "warning"
    assert [a["type"] for a in actions(card)] == ["update", "create", "create"]


def test_suspected_osteoporotic_fracture_with_an_mri_offers_a_plain_xray() -> None:
    card = only_card(decision(Pathway.XRAY_SUSPECTED_FRACTURE, Modality.MRI))
    assert card["indicator"] == "warning"
    (update,) = actions(card)
    assert {c["code"] for c in update["resource"]["code"]["coding"]} >= {"840361000", "24972-2"}


def test_suspected_osteoporotic_fracture_with_an_xray_is_quiet() -> None:
    assert respond(decision(Pathway.XRAY_SUSPECTED_FRACTURE, Modality.XRAY))["cards"] == []


def test_sciatica_with_neurology_goes_to_the_back_pain_pathway_with_a_physiotherapy_option() -> None:
    card = only_card(decision(Pathway.SPECIALIST_PATHWAY))
    assert card["indicator"] == "warning"
    assert len(card["suggestions"]) == 2


def test_inflammatory_back_pain_is_not_offered_a_physiotherapy_referral() -> None:
    d = decision(Pathway.SPECIALIST_PATHWAY, flags=(RedFlagId.INFLAMMATORY_BACK_PAIN,))
    card = only_card(d)
    assert [a["type"] for a in actions(card)] == ["delete"]


def test_back_pain_without_red_flags_is_a_warning_with_cancel_or_physiotherapy() -> None:
    card = only_card(decision(Pathway.IMAGING_NOT_INDICATED))
    assert card["indicator"] == "warning"
    assert card["selectionBehavior"] == "at-most-one"
    cancel, physio = card["suggestions"]
    assert cancel["isRecommended"] is True
    assert cancel["actions"][0] == {
        "type": "delete",
        "description": cancel["actions"][0]["description"],
        "resourceId": "ServiceRequest/mri-1",
    }
    referral = physio["actions"][1]["resource"]
    assert referral["code"]["coding"][0]["code"] == "306170007"
    assert referral["subject"] == {"reference": "Patient/p1"}


def test_no_red_flags_with_unreadable_medications_says_so_and_does_not_reassure() -> None:
    card = only_card(decision(Pathway.IMAGING_NOT_INDICATED, not_checked=("medications could not be read",)))
    assert "medications could not be read" in card["detail"]
    assert "Could not be checked" in card["detail"]
    assert not card["summary"].startswith("No red flags found")


def test_several_red_flags_with_imaging_supported_is_quiet_by_default_but_shown_when_configured() -> None:
    d = decision(Pathway.IMAGING_MAY_BE_APPROPRIATE)
    quiet = respond(d)
    assert quiet["cards"] == []
    assert quiet["systemActions"][0]["resource"]["id"] == "mri-1"
    loud = only_card(d, settings=Settings(auth="off", quiet_when_supported=False))
    assert loud["indicator"] == "info"
    assert "suggestions" not in loud


def test_red_flag_evidence_is_shown_with_date_and_place_in_the_record() -> None:
    card = only_card(decision(Pathway.URGENT_MRI_SUSPECTED_CANCER, Modality.XRAY))
    assert "Past history of carcinoma" in card["detail"]
    assert "2019-05-02" in card["detail"]
    assert "Condition/c1" in card["detail"]
    assert "Is the pain worse at night or at rest?" in card["detail"]


def test_a_display_containing_a_script_tag_is_escaped_in_the_detail() -> None:
    hostile = "<script>alert(1)</script> [click](javascript:alert(2))"
    card = only_card(decision(Pathway.URGENT_MRI_SUSPECTED_CANCER, Modality.XRAY, what=hostile))
    assert "<script>" not in card["detail"]
    assert "&lt;script&gt;" in card["detail"]
    assert "](javascript" not in card["detail"]


@pytest.mark.parametrize("pathway", list(Pathway))
def test_every_card_carries_uuids_source_links_and_displayed_override_reasons(pathway: Pathway) -> None:
    d = decision(pathway, Modality.XRAY if pathway != Pathway.XRAY_SUSPECTED_FRACTURE else Modality.MRI)
    card = only_card(d, settings=Settings(auth="off", quiet_when_supported=False))
    assert card["uuid"] == card_uuid(CONSULT_ID)
    assert card["source"]["label"].startswith(KNOWLEDGE.guideline.label)
    assert "next review" in card["source"]["label"]
    assert card["source"]["url"] == KNOWLEDGE.guideline.url
    assert card["links"][0]["url"] == KNOWLEDGE.guideline.url
    assert any(link["url"] == "https://www.nice.org.uk/guidance/ng59" for link in card["links"])
    assert all(link["type"] == "absolute" for link in card["links"])
    reasons = card["overrideReasons"]
    assert reasons and all(r["display"] and r["system"] == OVERRIDE_REASON_SYSTEM for r in reasons)
    for suggestion in card.get("suggestions", []):
        assert suggestion["uuid"] in {
            suggestion_uuid(CONSULT_ID, key)
            for key in (
                "cancel-order",
                "refer-physiotherapy",
                "switch-to-mri",
                "state-suspected-cancer",
                "order-infection-bloods",
                "switch-to-xray",
            )
        }
        for action in suggestion["actions"]:
            assert action["description"]
            if action["type"] == "delete":
                assert action["resourceId"] == "ServiceRequest/mri-1"
            elif action["type"] == "update":
                assert action["resource"]["id"] == "mri-1"


def test_override_reasons_name_each_kind_of_red_flag_the_record_may_not_show() -> None:
    card = only_card(decision(Pathway.IMAGING_NOT_INDICATED))
    codes = {r["code"] for r in card["overrideReasons"]}
    for kind in ("cancer", "infection", "fracture", "neurology", "inflammatory"):
        assert f"red-flag-not-recorded-{kind}" in codes
    assert {
        "assessed-by-specialist",
        "imaging-requested-by-specialist",
        "patient-circumstances",
        "other",
    } <= codes


def test_an_xray_of_the_lumbosacral_spine_for_suspected_cancer_is_replaced_by_a_lumbar_mri() -> None:
    d = decision(Pathway.URGENT_MRI_SUSPECTED_CANCER, Modality.XRAY, regions=(Region.LUMBAR, Region.SACRAL))
    (update,) = actions(only_card(d))
    assert update["resource"]["code"]["text"] == "MRI lumbar spine without contrast"


def test_the_same_evidence_reported_twice_is_shown_once() -> None:
    d = decision(Pathway.URGENT_MRI_SUSPECTED_CANCER, Modality.XRAY, flags=(RedFlagId.HISTORY_OF_CANCER,))
    flag = d.red_flags[0]
    twice = replace(d, red_flags=(replace(flag, evidence=flag.evidence * 2),))
    assert only_card(twice)["detail"].count("Condition/c1") == 1
