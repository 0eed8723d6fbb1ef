"""Prefetch resolution: what each declared key's value in the request means (CDS Hooks 2.0 §prefetch).

- present (a resource, or a searchset Bundle) -> use it;
- JSON `null` -> the query matched nothing: no data, and never refetched;
- an OperationOutcome (the client's fetch failed), a value that is not FHIR, or a missing key ->
  fetch it from the FHIR server ourselves.

Real clients send Bundles without `type` and entries without `resource`, so Bundles are read
leniently; resources stay raw JSON (see record.py for why).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cds_service.fhir.record import Resource


@dataclass(frozen=True)
class Present:
    """The client supplied the key: its resources, and the `next` link when it sent only one page."""

    resources: tuple[Resource, ...]
    next_url: str | None = None


@dataclass(frozen=True)
class Refetch:
    """The key must be fetched: `reason` is "missing", "operation-outcome" or "unusable"."""

    reason: str


Resolution = Present | Refetch

NO_DATA = Present(())


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The `next` paging link of a Bundle, if any."""
    links = bundle.get("link")
    for link in links if isinstance(links, list) else [links]:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def bundle_resources(bundle: Mapping[str, Any]) -> tuple[Resource, ...]:
    """The entries' resources of a (search) Bundle, skipping entries without a resource and
    search-outcome OperationOutcomes (warnings, not data)."""
    entries = bundle.get("entry")
    out: list[Resource] = []
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource")
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            continue
        if resource["resourceType"] == "OperationOutcome":
            continue
        out.append(resource)
    return tuple(out)


def resolve_value(value: Any) -> Resolution:
    """Interpret one prefetch value (the key is known to be present in the request)."""
    if value is None:
        return NO_DATA
    if isinstance(value, list):
        # Not legal CDS Hooks, but unambiguous: a bare list of resources.
        resources = tuple(r for r in value if isinstance(r, dict) and isinstance(r.get("resourceType"), str))
        return Present(resources) if resources or not value else Refetch("unusable")
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return Refetch("unusable")
    if value["resourceType"] == "OperationOutcome":
        return Refetch("operation-outcome")
    if value["resourceType"] == "Bundle":
        return Present(bundle_resources(value), next_link(value))
    return Present((value,))


def resolve_prefetch(prefetch: Any, keys: Iterable[str]) -> dict[str, Resolution]:
    """Resolve every declared key against the request's prefetch object (absent or not an object:
    every key is missing)."""
    supplied = prefetch if isinstance(prefetch, dict) else {}
    return {key: resolve_value(supplied[key]) if key in supplied else Refetch("missing") for key in keys}
