"""The presentation knowledge the cards read: override reasons, links and the orders they suggest.

Clinical codes and URLs live in knowledge files with their sources (design.md safety rule 5), so
they are read here once per process and never written into the card code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cds_service.rules.model import Region

_KNOWLEDGE = "cds_service.knowledge"
OVERRIDE_REASON_SYSTEM = "https://spine-cds.example.org/fhir/CodeSystem/override-reason"


@dataclass(frozen=True)
class OverrideReasonCode:
    """One override reason from the project CodeSystem."""

    code: str
    display: str
    red_flag_kind: str | None


@dataclass(frozen=True)
class CardLink:
    """A web page shown on the cards of some pathways ("*" = all)."""

    label: str
    url: str
    pathways: tuple[str, ...]


@dataclass(frozen=True)
class OrderableCode:
    """A CodeableConcept the cards put on an order they suggest."""

    text: str
    coding: tuple[dict[str, str], ...]

    def concept(self) -> dict[str, Any]:
        """The FHIR CodeableConcept: codings carry only system, code and display."""
        out: dict[str, Any] = {"text": self.text}
        if self.coding:
            out["coding"] = [dict(c) for c in self.coding]
        return out


def _read(path: str) -> Any:
    return json.loads(resources.files(_KNOWLEDGE).joinpath(path).read_text("utf-8"))


@cache
def override_reasons() -> tuple[OverrideReasonCode, ...]:
    """Every override reason, in the CodeSystem's order."""
    system = _read("codesystems/override-reason.json")
    out = []
    for concept in system["concept"]:
        kind = next(
            (p["valueCode"] for p in concept.get("property", []) if p["code"] == "redFlagKind"),
            None,
        )
        out.append(OverrideReasonCode(concept["code"], concept["display"], kind))
    return tuple(out)


@cache
def card_links() -> tuple[CardLink, ...]:
    """Every link the cards may show."""
    return tuple(
        CardLink(label=item["label"], url=item["url"], pathways=tuple(item["pathways"]))
        for item in _read("card-links.json")["links"]
    )


def _orderable(raw: dict[str, Any]) -> OrderableCode:
    keep = ("system", "code", "display")
    return OrderableCode(
        text=raw["text"],
        coding=tuple({k: c[k] for k in keep if k in c} for c in raw["coding"]),
    )


@cache
def _suggested_orders() -> dict[str, Any]:
    raw: dict[str, Any] = _read("suggested-orders.json")
    return raw


@cache  # every card asks for the same few codes; OrderableCode.concept() hands out copies
def imaging_code(modality: str, regions: tuple[Region, ...]) -> OrderableCode:
    """The code of an `mri` or `xray` of these regions (several regions: the whole spine)."""
    table = _suggested_orders()[modality]
    distinct = set(regions)
    if distinct == {Region.LUMBAR, Region.SACRAL}:
        distinct = {Region.LUMBAR}  # a lumbosacral study is a lumbar study that includes the sacrum
    if len(distinct) == 1:
        key = distinct.pop().value
    elif distinct:
        key = Region.WHOLE_SPINE.value
    else:
        key = Region.UNSPECIFIED.value
    return _orderable(table[key])


@cache
def orderable(name: str) -> OrderableCode:
    """A named order or reason: physiotherapy-referral, crp, full-blood-count, suspected-malignancy-reason."""
    return _orderable(_suggested_orders()[name])
