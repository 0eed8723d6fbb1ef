"""Cards, suggestions and systemActions (being built by the cards issue)."""

from __future__ import annotations

from collections.abc import Sequence

from cds_service.hooks.response import HookResponse
from cds_service.knowledge import Knowledge
from cds_service.rules.model import Decision
from cds_service.settings import Settings


def build_response(
    decisions: Sequence[Decision], *, knowledge: Knowledge, settings: Settings, hook: str
) -> HookResponse:
    """One card per decision (or none when quiet), plus a systemAction carrying each decision."""
    raise NotImplementedError
