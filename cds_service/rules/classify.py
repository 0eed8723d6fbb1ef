"""Order classification: is this draft order a spinal X-ray, CT or MRI, of which region, with contrast?

Codes decide first (CPT, RSNA-LOINC, SNOMED CT; value sets in knowledge/valuesets/), the order's
text is the fallback for local codes ("MRI L-SPINE"). Exclusions (DXA, spinal ultrasound,
image-guided injections, myelography, knee MRI, chest X-ray) win over any match. This runs on every
order-select call, so a coded order costs a few dictionary look-ups and one short regex search.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cds_service.fhir.record import Resource, codings, concept_text
from cds_service.knowledge import Knowledge
from cds_service.knowledge.valueset import Concept, ValueSet
from cds_service.rules.model import CodeRef, ImagingOrder, Modality, Region

EXCLUSIONS = "not-spinal-imaging"
# Tried in this order, for codes and for text: a text naming two modalities is taken as the first.
MODALITY_SETS = (
    (Modality.MRI, "spinal-imaging-mri"),
    (Modality.CT, "spinal-imaging-ct"),
    (Modality.XRAY, "spinal-imaging-xray"),
)


def order_reference(resource: Resource) -> str:
    """`ServiceRequest/<id>`; without an id, a placeholder derived from the order's content.

    The placeholder is stable (the same order always gets the same reference, so consult ids stay
    deterministic) but the EHR cannot resolve it: a client that wants the decision back must send ids.
    """
    rid = resource.get("id")
    if isinstance(rid, str) and rid.strip():
        return f"ServiceRequest/{rid.strip()}"
    digest = hashlib.sha256(json.dumps(resource, sort_keys=True, default=str).encode()).hexdigest()
    return f"ServiceRequest/no-id-{digest[:16]}"


def _coded_match(
    found: list[tuple[str | None, str | None, str | None]], knowledge: Knowledge
) -> tuple[Modality, Concept, CodeRef] | None:
    for modality, set_id in MODALITY_SETS:
        value_set = knowledge.value_sets.get(set_id)
        if value_set is None:
            continue
        for system, code, display in found:
            concept = value_set.concept(system, code)
            if concept is not None:
                return modality, concept, CodeRef(system, code, display or concept.display)
    return None


def _text_match(text: str, knowledge: Knowledge) -> tuple[Modality, CodeRef] | None:
    for modality, set_id in MODALITY_SETS:
        value_set = knowledge.value_sets.get(set_id)
        if value_set is not None and value_set.match_text(text) is not None:
            return modality, CodeRef(None, None, text)
    return None


def _excluded(
    found: list[tuple[str | None, str | None, str | None]], text: str, exclusions: ValueSet | None
) -> bool:
    if exclusions is None:
        return False
    if any(exclusions.contains(system, code) for system, code, _ in found):
        return True
    return exclusions.match_text(text) is not None


def classify_order(resource: Resource, knowledge: Knowledge) -> ImagingOrder | None:
    """The spinal imaging order this draft is, or None when it is not spinal X-ray/CT/MRI."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "ServiceRequest":
        return None
    code: Any = resource.get("code")
    found = list(codings(code))
    # A generic code ("MRI") may leave the body part to bodySite, so both are read as the order's text.
    text = " ".join(t for t in (concept_text(code), concept_text(resource.get("bodySite"))) if t)
    if _excluded(found, text, knowledge.value_sets.get(EXCLUSIONS)):
        return None
    coded = _coded_match(found, knowledge)
    if coded is not None:
        modality, concept, matched = coded
        regions = concept.regions or knowledge.order_text.regions_in(text)
        contrast = (
            concept.contrast if concept.contrast is not None else knowledge.order_text.contrast_in(text)
        )
        matched_by = "code"
    else:
        by_text = _text_match(text, knowledge)
        if by_text is None:
            return None
        modality, matched = by_text
        regions = knowledge.order_text.regions_in(text)
        contrast = knowledge.order_text.contrast_in(text)
        matched_by = "text"
    return ImagingOrder(
        reference=order_reference(resource),
        resource=resource,
        modality=modality,
        regions=tuple(Region(r) for r in regions) or (Region.UNSPECIFIED,),
        contrast=contrast,
        matched=matched,
        matched_by=matched_by,
    )
