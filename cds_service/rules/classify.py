"""Order classification (being built by the red-flag engine issue)."""

from __future__ import annotations

from cds_service.fhir.record import Resource
from cds_service.knowledge import Knowledge
from cds_service.rules.model import ImagingOrder


def classify_order(resource: Resource, knowledge: Knowledge) -> ImagingOrder | None:
    """The spinal imaging order this draft is, or None when it is not spinal X-ray/CT/MRI."""
    raise NotImplementedError
