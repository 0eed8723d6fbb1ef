"""Pathway choice (being built by the red-flag engine issue)."""

from __future__ import annotations

from cds_service.fhir.record import PatientRecord
from cds_service.knowledge import Knowledge
from cds_service.rules.model import Decision, ImagingOrder


def decide(order: ImagingOrder, record: PatientRecord, knowledge: Knowledge, *, consult_id: str) -> Decision:
    """The one pathway for this order, with the red flags and evidence behind it."""
    raise NotImplementedError
