"""Which draft orders a hook call asks about (being built by the protocol issue)."""

from __future__ import annotations

from typing import Any

from cds_service.fhir.record import Resource


def candidate_orders(hook: str, context: dict[str, Any]) -> tuple[list[Resource], list[Resource]]:
    """(orders to evaluate, the other draft orders as context)."""
    raise NotImplementedError
