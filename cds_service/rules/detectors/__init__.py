"""Red-flag detection: every detector group reads the record for one spinal imaging order.

Each group adds red flags (with evidence) and features to one `Findings`; groups that depend on
others run after them (the ESR limit needs the age; sciatica needs limb weakness).
"""

from __future__ import annotations

from cds_service.fhir.record import PatientRecord
from cds_service.knowledge import Knowledge
from cds_service.rules.detectors.conditions import detect_conditions
from cds_service.rules.detectors.findings import Findings, Reading
from cds_service.rules.detectors.medications import detect_medications
from cds_service.rules.detectors.observations import detect_observations
from cds_service.rules.detectors.order_context import detect_order_context
from cds_service.rules.detectors.patient import detect_patient, order_date
from cds_service.rules.detectors.procedures import detect_procedures
from cds_service.rules.model import ImagingOrder, RedFlagId


def detect_red_flags(order: ImagingOrder, record: PatientRecord, knowledge: Knowledge) -> Findings:
    """All red flags for this order's patient, with evidence, features and what could not be checked."""
    reading = Reading(order, record, knowledge, order_date(order.resource, record.as_of))
    findings = Findings()
    detect_patient(reading, findings)
    detect_conditions(reading, findings)
    detect_medications(reading, findings)
    detect_observations(reading, findings)
    detect_procedures(reading, findings)
    detect_order_context(reading, findings)
    combine_flags(findings)
    return findings


def combine_flags(findings: Findings) -> None:
    """Flags made of two findings: sciatica with limb weakness is 'sciatica with lower limb neurology'."""
    weakness = findings.flags.get(RedFlagId.LIMB_WEAKNESS)
    if findings.sciatica and weakness:
        for evidence in [*findings.sciatica, *weakness]:
            findings.add(RedFlagId.SCIATICA_WITH_NEUROLOGY, evidence)


__all__ = ["Findings", "detect_red_flags"]
