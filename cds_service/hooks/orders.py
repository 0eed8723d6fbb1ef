"""Which draft orders a hook call asks about, and which are only context.

order-select advises on the `selections` only; the other drafts are context (digest §2). order-sign
advises on every ServiceRequest in `draftOrders`, whatever its status, since revised orders are
re-signed with statuses other than draft. Draft orders are read leniently: real clients send
Bundles without `type`, entries without a resource, or junk where a list belongs.
"""

from __future__ import annotations

from typing import Any

from cds_service.fhir.record import Resource, reference_of
from cds_service.hooks.request import ORDER_SELECT

EVALUATED_TYPE = "ServiceRequest"  # imaging orders are R4 ServiceRequests


def draft_resources(draft_orders: Any) -> list[Resource]:
    """The resources in a draftOrders Bundle, tolerating every shape real clients send."""
    if isinstance(draft_orders, dict):
        if draft_orders.get("resourceType") not in (None, "Bundle"):
            return [draft_orders]  # a lone resource where a Bundle belongs
        entries = draft_orders.get("entry")
    else:
        entries = draft_orders
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        return []
    resources: list[Resource] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource", entry if "resourceType" in entry else None)
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            resources.append(resource)
    return resources


def _selected_references(selections: Any) -> set[str]:
    """`Type/id` for each selection; a full URL ending in Type/id counts as that reference."""
    items = [selections] if isinstance(selections, str) else selections
    if not isinstance(items, list):
        return set()
    refs = set()
    for item in items:
        if isinstance(item, str) and "/" in item:
            rtype, rid = item.rstrip("/").split("/")[-2:]
            refs.add(f"{rtype}/{rid}")
    return refs


def candidate_orders(hook: str, context: dict[str, Any]) -> tuple[list[Resource], list[Resource]]:
    """(orders to evaluate, the other draft orders as context) for the hook of the endpoint called."""
    drafts = draft_resources(context.get("draftOrders"))
    if hook == ORDER_SELECT:
        selected = _selected_references(context.get("selections"))
        wanted = [
            r for r in drafts if r.get("resourceType") == EVALUATED_TYPE and reference_of(r) in selected
        ]
    else:
        wanted = [r for r in drafts if r.get("resourceType") == EVALUATED_TYPE]
    to_evaluate: list[Resource] = []
    seen: set[str] = set()
    for resource in wanted:
        ref = reference_of(resource)
        if ref is not None and ref in seen:
            continue  # a client that lists one order twice gets one answer for it
        if ref is not None:
            seen.add(ref)
        to_evaluate.append(resource)
    chosen = {id(r) for r in wanted}
    others = [r for r in drafts if id(r) not in chosen]
    return to_evaluate, others
