"""A tiny FHIR resource factory for clinical scenarios, and a one-call `decide` for tests."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from cds_service.fhir.record import PatientRecord
from cds_service.knowledge import load_knowledge
from cds_service.rules.model import CodeRef, Decision, ImagingOrder, Modality, Region
from cds_service.rules.pathway import decide

TODAY = date(2026, 11, 20)
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

_ids = itertools.count(1)


def days_ago(days: int) -> str:
    """An ISO date `days` before the test's today."""
    return (TODAY - timedelta(days=days)).isoformat()


def years_ago(years: float) -> str:
    """An ISO date about `years` before the test's today."""
    return days_ago(int(years * 365.25))


def patient(age: int | None = 45, gender: str = "female", **extra: Any) -> dict[str, Any]:
    """A Patient born `age` years before today (no birth date when age is None)."""
    res: dict[str, Any] = {"resourceType": "Patient", "id": "p1", "gender": gender, **extra}
    if age is not None:
        res["birthDate"] = TODAY.replace(year=TODAY.year - age, day=1).isoformat()
    return res


def condition(
    code: str,
    display: str = "",
    *,
    system: str = SNOMED,
    clinical: str | None = "active",
    verification: str | None = "confirmed",
    onset: str | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    """A Condition with the given code and statuses (onset defaults to a week ago)."""
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"c{next(_ids)}",
        "code": {"coding": [{"system": system, "code": code, "display": display}]} if code else {},
        "onsetDateTime": onset or days_ago(7),
    }
    if text:
        res["code"]["text"] = text
    if clinical:
        res["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": clinical}]}
    if verification:
        res["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": verification}]}
    return res


def text_condition(text: str, **kwargs: Any) -> dict[str, Any]:
    """A Condition recorded only as free text."""
    res = condition("", **kwargs)
    res["code"] = {"text": text}
    return res


def medication(
    code: str | None,
    display: str,
    *,
    status: str = "active",
    authored: str | None = None,
    end: str | None = None,
    days: int | None = None,
    system: str = RXNORM,
    kind: str = "MedicationRequest",
) -> dict[str, Any]:
    """A MedicationRequest (or Statement) with an optional stated end or course length in days."""
    concept: dict[str, Any] = {"text": display}
    if code:
        concept["coding"] = [{"system": system, "code": code, "display": display}]
    res: dict[str, Any] = {"resourceType": kind, "id": f"m{next(_ids)}", "status": status}
    start = authored or days_ago(30)
    res["medicationCodeableConcept"] = concept
    if kind == "MedicationStatement":
        res["effectivePeriod"] = {"start": start, **({"end": end} if end else {})}
    else:
        res["authoredOn"] = start
        if end:
            res["dispenseRequest"] = {"validityPeriod": {"start": start, "end": end}}
        if days is not None:
            res["dosageInstruction"] = [
                {"timing": {"repeat": {"boundsDuration": {"value": days, "code": "d"}}}}
            ]
    return res


def observation(
    code: str, value: float, unit: str, *, when: str | None = None, display: str = ""
) -> dict[str, Any]:
    """A final Observation with a valueQuantity."""
    return {
        "resourceType": "Observation",
        "id": f"o{next(_ids)}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "effectiveDateTime": when or days_ago(1),
        "valueQuantity": {"value": value, "unit": unit, "code": unit, "system": "http://unitsofmeasure.org"},
    }


def procedure(code: str, display: str, *, when: str | None = None) -> dict[str, Any]:
    """A completed Procedure."""
    return {
        "resourceType": "Procedure",
        "id": f"pr{next(_ids)}",
        "status": "completed",
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
        "performedDateTime": when or years_ago(3),
    }


def imaging_order(
    modality: Modality = Modality.MRI,
    region: Region = Region.LUMBAR,
    *,
    reason: str | None = None,
    note: str | None = None,
    reason_codes: tuple[tuple[str, str, str], ...] = (),
    reason_reference: str | None = None,
    authored: str | None = None,
) -> ImagingOrder:
    """A draft spinal imaging ServiceRequest as the classifier would hand it on."""
    resource: dict[str, Any] = {"resourceType": "ServiceRequest", "id": "order-1", "status": "draft"}
    concepts: list[dict[str, Any]] = [
        {"coding": [{"system": system, "code": code, "display": display}]}
        for system, code, display in reason_codes
    ]
    if reason:
        concepts.append({"text": reason})
    if concepts:
        resource["reasonCode"] = concepts
    if note:
        resource["note"] = [{"text": note}]
    if reason_reference:
        resource["reasonReference"] = [{"reference": reason_reference}]
    if authored:
        resource["authoredOn"] = authored
    return ImagingOrder(
        reference="ServiceRequest/order-1",
        resource=resource,
        modality=modality,
        regions=(region,),
        contrast=None,
        matched=CodeRef(None, None, f"{modality} {region}"),
        matched_by="text",
    )


def record(
    *resources: dict[str, Any],
    who: dict[str, Any] | None = None,
    unavailable: tuple[str, ...] = (),
    drafts: tuple[dict[str, Any], ...] = (),
    no_patient: bool = False,
) -> PatientRecord:
    """A PatientRecord of these resources for a 45-year-old unless `who` says otherwise."""
    return PatientRecord.from_resources(
        None if no_patient else (who or patient()),
        resources,
        as_of=TODAY,
        unavailable=unavailable,
        draft_orders=drafts,
    )


def decision_for(rec: PatientRecord, order: ImagingOrder | None = None) -> Decision:
    """Run the engine on one order for this record."""
    return decide(
        order or imaging_order(),
        rec,
        load_knowledge(),
        consult_id="urn:uuid:0b7a6f7e-1c4a-4d55-9f0e-3d2b1a0c9e88",
    )
