"""Which draft orders a hook call asks about: selections on order-select, every order on order-sign."""

from __future__ import annotations

from typing import Any

from cds_service.hooks.orders import candidate_orders, draft_resources


def order(order_id: str, resource_type: str = "ServiceRequest", status: str = "draft") -> dict[str, Any]:
    return {"resourceType": resource_type, "id": order_id, "status": status}


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}


def refs(resources: list[dict[str, Any]]) -> list[str]:
    return [f"{r['resourceType']}/{r['id']}" for r in resources]


def test_order_select_evaluates_only_the_selected_order_and_keeps_the_rest_as_context() -> None:
    steroid = order("pred", "MedicationRequest")
    context = {
        "selections": ["ServiceRequest/mri"],
        "draftOrders": bundle(order("mri"), order("xray"), steroid),
    }
    evaluate, others = candidate_orders("order-select", context)
    assert refs(evaluate) == ["ServiceRequest/mri"]
    assert refs(others) == ["ServiceRequest/xray", "MedicationRequest/pred"]


def test_order_sign_evaluates_every_service_request_whatever_its_status() -> None:
    context = {
        "draftOrders": bundle(order("a"), order("b", status="active"), order("rx", "MedicationRequest"))
    }
    evaluate, others = candidate_orders("order-sign", context)
    assert refs(evaluate) == ["ServiceRequest/a", "ServiceRequest/b"]
    assert refs(others) == ["MedicationRequest/rx"]


def test_a_selected_medication_is_context_not_an_imaging_order() -> None:
    context = {
        "selections": ["MedicationRequest/rx"],
        "draftOrders": bundle(order("rx", "MedicationRequest")),
    }
    evaluate, others = candidate_orders("order-select", context)
    assert evaluate == []
    assert refs(others) == ["MedicationRequest/rx"]


def test_selection_as_a_single_string_or_full_url_still_matches() -> None:
    drafts = bundle(order("mri"))
    assert refs(
        candidate_orders("order-select", {"selections": "ServiceRequest/mri", "draftOrders": drafts})[0]
    )
    full = {"selections": ["https://ehr.example/fhir/ServiceRequest/mri"], "draftOrders": drafts}
    assert refs(candidate_orders("order-select", full)[0]) == ["ServiceRequest/mri"]


def test_an_order_listed_twice_is_evaluated_once() -> None:
    context = {"draftOrders": bundle(order("mri"), order("mri"))}
    assert refs(candidate_orders("order-sign", context)[0]) == ["ServiceRequest/mri"]


def test_draft_orders_in_every_shape_real_clients_send() -> None:
    mri = order("mri")
    assert draft_resources(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": mri}]}
    ) == [mri]
    assert draft_resources({"resourceType": "Bundle", "entry": {"resource": mri}}) == [mri]
    assert draft_resources(mri) == [mri]
    assert draft_resources([mri]) == [mri]
    assert draft_resources(
        {"entry": [{"resource": mri}, {}, None, "x", {"resource": {"id": "no-type"}}]}
    ) == [mri]
    assert draft_resources(None) == []
    assert draft_resources("Bundle") == []
    assert draft_resources({"resourceType": "Bundle", "entry": "junk"}) == []
