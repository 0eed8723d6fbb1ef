"""The links and coded override reasons shown on each card, read from the knowledge files."""

from __future__ import annotations

from functools import cache

from cds_service.cards.catalogue import OVERRIDE_REASON_SYSTEM, card_links, override_reasons
from cds_service.hooks.response import Link, OverrideReason
from cds_service.knowledge import Knowledge
from cds_service.rules.model import Pathway


def links_for(pathway: Pathway, knowledge: Knowledge) -> list[Link]:
    """The guideline page first, then the pathway's further reading."""
    guideline = knowledge.guideline
    return list(_links(pathway, guideline.label, guideline.url))


def override_reasons_for(pathway: Pathway) -> list[OverrideReason]:
    """Coded reasons to dismiss the card; 'red flag not in the record' is moot on an emergency card."""
    return list(_override_reasons(pathway))


# The links and reasons are the same on every card of a pathway: built (and validated) once per
# process, and shared by the cards, which never change them.
@cache
def _links(pathway: Pathway, guideline_label: str, guideline_url: str) -> tuple[Link, ...]:
    out = [Link(label=guideline_label, url=guideline_url, type="absolute")]
    out += [
        Link(label=link.label, url=link.url, type="absolute")
        for link in card_links()
        if "*" in link.pathways or pathway.value in link.pathways
    ]
    return tuple(out)


@cache
def _override_reasons(pathway: Pathway) -> tuple[OverrideReason, ...]:
    return tuple(
        OverrideReason(system=OVERRIDE_REASON_SYSTEM, code=reason.code, display=reason.display)
        for reason in override_reasons()
        if not (pathway == Pathway.EMERGENCY_DEPARTMENT and reason.red_flag_kind)
    )
