"""Red flags from procedures: a transplant implies immunosuppression; recent spinal surgery.

Prior spinal surgery is not one of the guideline's red flags, but surgery within the last year is an
infection risk factor (ACR variant 5: prior surgery, new symptoms), and leg pain that began after
any spinal operation goes to the spinal interface service.
"""

from __future__ import annotations

from datetime import date

from cds_service.fhir.record import Resource
from cds_service.rules.detectors.findings import (
    Findings,
    Reading,
    evidence_for,
    months_before,
    parse_date,
    status_of,
)
from cds_service.rules.model import CodeRef, RedFlagId

VOID = frozenset({"entered-in-error", "not-done", "preparation"})
SOURCE = "procedure"


def performed(res: Resource) -> date | None:
    """When the procedure was done."""
    period = res.get("performedPeriod")
    start = period.get("start") if isinstance(period, dict) else None
    return parse_date(res.get("performedDateTime") or start)


def procedures_in(reading: Reading, value_set_id: str) -> list[tuple[Resource, CodeRef]]:
    """Procedures in the value set: coded ones through the index, uncoded ones by their text."""
    value_set = reading.knowledge.value_set(value_set_id)
    out = []
    for res in reading.coded(value_set_id):
        if res.get("resourceType") == "Procedure":
            matched = value_set.match(res.get("code"))
            if matched is not None:
                out.append((res, matched))
    for res in uncoded_procedures(reading):  # text-only procedures are few; coded ones were found above
        matched = value_set.match(res.get("code"))
        if matched is not None:
            out.append((res, matched))
    return out


def uncoded_procedures(reading: Reading) -> list[Resource]:
    """The record's procedures without a coding (sorted out once per decision)."""
    found = reading.uncoded_procedures
    if found is None:
        found = reading.uncoded_procedures = [
            res for res in reading.record.of_type("Procedure") if not _has_coding(res.get("code"))
        ]
    return found


def _has_coding(code: object) -> bool:
    return isinstance(code, dict) and bool(code.get("coding"))


def detect_procedures(reading: Reading, findings: Findings) -> None:
    """Transplants (immunosuppression) and recent spinal surgery (an infection risk)."""
    if "procedures" in reading.record.unavailable:
        findings.note_unchecked("procedures (transplants, spinal surgery) could not be read")
        return
    if not reading.record.of_type("Procedure"):
        return  # no procedure on record: nothing below could be found
    for res, matched in procedures_in(reading, "transplant"):
        dated = performed(res)
        if status_of(res) in VOID or (dated is not None and dated > reading.on):
            continue
        findings.add(RedFlagId.IMMUNOSUPPRESSION, evidence_for(res, matched, dated, SOURCE), "transplant")
    recent = months_before(reading.on, int(reading.threshold("prior_spinal_surgery_infection_months")))
    for res, matched in procedures_in(reading, "prior-spinal-surgery"):
        dated = performed(res)
        if status_of(res) in VOID or (dated is not None and dated > reading.on):
            continue
        findings.features.add("prior-spinal-surgery")
        findings.spinal_surgery.append(dated)
        if dated is None or dated >= recent:
            findings.features.add("recent-spinal-surgery")
            evidence = evidence_for(res, matched, dated, SOURCE)
            findings.add(RedFlagId.RECENT_SPINAL_PROCEDURE, evidence, "recent-spinal-surgery")
