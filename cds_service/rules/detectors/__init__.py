"""Red-flag detection: every detector group reads the record for one spinal imaging order.

Each group adds red flags (with evidence) and features to one `Findings`; groups that depend on
others run after them (the ESR limit needs the age; sciatica needs limb weakness).
"""

from __future__ import annotations

from datetime import date, timedelta

from cds_service.fhir.record import PatientRecord
from cds_service.knowledge import Knowledge
from cds_service.rules.detectors.conditions import CURRENT, counts, detect_conditions, facts
from cds_service.rules.detectors.findings import Findings, Reading, evidence_for, parse_date
from cds_service.rules.detectors.medications import detect_medications
from cds_service.rules.detectors.observations import detect_observations
from cds_service.rules.detectors.order_context import detect_order_context
from cds_service.rules.detectors.patient import detect_patient, order_date, stated_onset
from cds_service.rules.detectors.procedures import detect_procedures
from cds_service.rules.model import Evidence, ImagingOrder, RedFlagId


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
    combine_flags(findings, reading)
    return findings


def combine_flags(findings: Findings, reading: Reading) -> None:
    """Flags made of two findings, and an injury weighed by its force."""
    radicular = [*findings.sciatica, *findings.flags.get(RedFlagId.SCIATICA_WITH_NEUROLOGY, [])]
    weakness = findings.flags.get(RedFlagId.LIMB_WEAKNESS)
    if findings.sciatica and weakness:
        # Sciatica with limb weakness is 'sciatica with lower limb neurology'.
        for evidence in [*findings.sciatica, *weakness]:
            findings.add(RedFlagId.SCIATICA_WITH_NEUROLOGY, evidence)
    weigh_force(findings)
    if radicular:
        persistent_radicular_pain(findings, reading, radicular)
    if findings.spinal_surgery:
        post_surgical_leg_pain(findings, reading, radicular)


def _same_finding(a: Evidence, b: Evidence) -> bool:
    """Two pieces of evidence for one finding: the same resource, or the same words of the order."""
    if a.source.startswith("order"):
        return a.reference == b.reference and a.what == b.what
    return a.reference is not None and a.reference == b.reference


def weigh_force(findings: Findings) -> None:
    """An injury that is low-energy is not also 'trauma' (guideline 'Consider age versus force')."""
    low_energy = findings.flags.get(RedFlagId.LOW_ENERGY_TRAUMA)
    trauma = findings.flags.get(RedFlagId.TRAUMA)
    if not low_energy or not trauma:
        return
    kept = [t for t in trauma if not any(_same_finding(t, low) for low in low_energy)]
    if kept:
        findings.flags[RedFlagId.TRAUMA] = kept
    else:
        del findings.flags[RedFlagId.TRAUMA]


def persistent_radicular_pain(findings: Findings, reading: Reading, radicular: list[Evidence]) -> None:
    """Sciatica or radiculopathy that began longer ago than the threshold: persistent radicular pain."""
    weeks = int(reading.threshold("persistent_radicular_pain_weeks"))
    latest_onset = reading.on - timedelta(weeks=weeks)
    stated = stated_onset(reading)
    for evidence in radicular:
        began = parse_date(evidence.date) or (stated if evidence.source.startswith("order") else None)
        if began is not None and began <= latest_onset:
            findings.add(RedFlagId.PERSISTENT_RADICULAR_PAIN, evidence)


def post_surgical_leg_pain(findings: Findings, reading: Reading, radicular: list[Evidence]) -> None:
    """Leg, sciatic or radicular pain that began after a spinal operation on record."""
    operations = [d for d in findings.spinal_surgery if d is not None]
    if not operations:
        return
    first = min(operations)
    leg_pain = [
        evidence_for(res, matched, facts(reading, res).onset, "problem list")
        for res, matched in reading.conditions_in("leg-pain")
        if counts(res, CURRENT, reading)
    ]
    for evidence in [*radicular, *leg_pain]:
        began: date | None = parse_date(evidence.date)
        if began is not None and began > first:
            findings.add(RedFlagId.POST_SURGICAL_LEG_PAIN, evidence)


__all__ = ["Findings", "detect_red_flags"]
