"""The links and coded override reasons shown on each card, read from the knowledge files."""

from __future__ import annotations

from cds_service.cards.catalogue import OVERRIDE_REASON_SYSTEM, card_links, override_reasons
from cds_service.hooks.response import Link, OverrideReason
from cds_service.knowledge import Knowledge
from cds_service.rules.model import Pathway


def links_for(pathway: Pathway, knowledge: Knowledge) -> list[Link]:
    """The guideline page first, then the pathway's further reading."""
    out = [Link(label=knowledge.guideline.label, url=knowledge.guideline.url, type="absolute")]
    out += [
        Link(label=link.label, url=link.url, type="absolute")
        for link in card_links()
        if "*" in link.pathways or pathway.value in link.pathways
    ]
    return out


def override_reasons_for(pathway: Pathway) -> list[OverrideReason]:
    """Coded reasons to dismiss the card; 'red flag not in the record' is moot on an emergency card."""
    return [
        OverrideReason(system=OVERRIDE_REASON_SYSTEM, code=reason.code, display=reason.display)
        for reason in override_reasons()
        if not (pathway == Pathway.EMERGENCY_DEPARTMENT and reason.red_flag_kind)
    ]
