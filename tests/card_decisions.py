"""Decisions built by hand, one per pathway and modality, for the card and template tests."""

from __future__ import annotations

from typing import Any

from cds_service.rules.model import (
    AskAbout,
    CodeRef,
    Decision,
    Evidence,
    ImagingOrder,
    Modality,
    Pathway,
    Rating,
    RedFlag,
    RedFlagId,
    Region,
)

CONSULT_ID = "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e"

ORDER_CODES = {
    Modality.MRI: ("72148", "MRI lumbar spine without contrast"),
    Modality.XRAY: ("72100", "X-ray lumbar spine 2 or 3 views"),
    Modality.CT: ("72131", "CT lumbar spine without contrast"),
}

PATHWAY_FLAGS: dict[Pathway, tuple[RedFlagId, ...]] = {
    Pathway.EMERGENCY_DEPARTMENT: (RedFlagId.BLADDER_OR_BOWEL_DYSFUNCTION, RedFlagId.SADDLE_ANAESTHESIA),
    Pathway.URGENT_MRI_SUSPECTED_CANCER: (RedFlagId.HISTORY_OF_CANCER, RedFlagId.THORACIC_PAIN),
    Pathway.MRI_WITH_INFECTION_BLOODS: (RedFlagId.IMMUNOSUPPRESSION, RedFlagId.SYSTEMICALLY_UNWELL),
    Pathway.XRAY_SUSPECTED_FRACTURE: (RedFlagId.OSTEOPOROSIS, RedFlagId.CORTICOSTEROID_USE),
    Pathway.SPECIALIST_PATHWAY: (RedFlagId.SCIATICA_WITH_NEUROLOGY,),
    Pathway.IMAGING_MAY_BE_APPROPRIATE: (RedFlagId.NEW_ONSET_OVER_55, RedFlagId.WEIGHT_LOSS),
    Pathway.IMAGING_NOT_INDICATED: (),
}

RATINGS = {
    Pathway.IMAGING_NOT_INDICATED: Rating.NOT_APPROPRIATE,
    Pathway.SPECIALIST_PATHWAY: Rating.NOT_APPROPRIATE,
    Pathway.EMERGENCY_DEPARTMENT: Rating.NOT_APPROPRIATE,
}


def draft_order(
    modality: Modality = Modality.MRI, *, order_id: str = "mri-1", display: str | None = None
) -> dict[str, Any]:
    """A draft spinal imaging ServiceRequest as an EHR sends it."""
    code, text = ORDER_CODES[modality]
    return {
        "resourceType": "ServiceRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "code": {
            "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code, "display": display or text}]
        },
        "subject": {"reference": "Patient/p1"},
        "requester": {"reference": "Practitioner/gp1"},
        "authoredOn": "2025-03-01",
    }


def imaging_order(
    modality: Modality = Modality.MRI,
    *,
    order_id: str = "mri-1",
    display: str | None = None,
    regions: tuple[Region, ...] = (Region.LUMBAR,),
) -> ImagingOrder:
    """A draft spinal imaging order as the classifier reads it (matched by its CPT code)."""
    resource = draft_order(modality, order_id=order_id, display=display)
    return ImagingOrder(
        reference=f"ServiceRequest/{order_id}",
        resource=resource,
        modality=modality,
        regions=regions,
        contrast=False,
        matched=CodeRef("http://www.ama-assn.org/go/cpt", resource["code"]["coding"][0]["code"], display),
        matched_by="code",
    )


def decision(
    pathway: Pathway,
    modality: Modality = Modality.MRI,
    *,
    flags: tuple[RedFlagId, ...] | None = None,
    what: str = "Secondary malignant neoplasm of vertebral column (SNOMED 94503003)",
    not_checked: tuple[str, ...] = (),
    recent_bloods: tuple[Evidence, ...] = (),
    regions: tuple[Region, ...] = (Region.LUMBAR,),
    display: str | None = None,
) -> Decision:
    """A decision for one lumbar order, with evidence on every flag."""
    order = imaging_order(modality, display=display, regions=regions)
    chosen = PATHWAY_FLAGS[pathway] if flags is None else flags
    return Decision(
        order=order,
        pathway=pathway,
        rating=RATINGS.get(pathway, Rating.APPROPRIATE),
        consult_id=CONSULT_ID,
        red_flags=tuple(
            RedFlag(
                flag,
                (
                    Evidence(
                        "Condition/c1",
                        what,
                        CodeRef("http://snomed.info/sct", "94503003", what),
                        "2019-05-02",
                        "problem list",
                    ),
                ),
            )
            for flag in chosen
        ),
        ask_about=(
            AskAbout(RedFlagId.NON_MECHANICAL_OR_NIGHT_PAIN, "Is the pain worse at night or at rest?"),
        ),
        not_checked=not_checked,
        rationale="Chosen for the test.",
        recent_infection_bloods=recent_bloods,
    )
