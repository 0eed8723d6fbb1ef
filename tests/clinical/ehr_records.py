"""FHIR R4 resources shaped like a real GP record (and Synthea), for end-to-end hook calls.

Each builder fills what real systems send: statuses as CodeableConcepts, categories, recorded
dates, UCUM units, dosage and validity periods, and a draft order with coded reasons and notes.
Dates are given as days before the order date, so a vignette reads "a fall 3 days ago".
"""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta
from typing import Any

from tests.hook_requests import PATIENT_ID, hook_call

ORDER_DAY = date(2026, 11, 27)
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
CPT = "http://www.ama-assn.org/go/cpt"
SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
PREFETCH_KEYS = {
    "Condition": "conditions",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
    "Observation": "observations",
    "Procedure": "procedures",
}

_ids = itertools.count(1)


def day(days_before: int) -> str:
    """The ISO date `days_before` the order date."""
    return (ORDER_DAY - timedelta(days=days_before)).isoformat()


def instant(days_before: int) -> str:
    """A dateTime with a UK offset, as EHRs send it."""
    return f"{day(days_before)}T09:30:00+00:00"


def gp_patient(age: int, gender: str, **extra: Any) -> dict[str, Any]:
    """A registered GP patient born `age` years before the order date."""
    born = ORDER_DAY.replace(year=ORDER_DAY.year - age) - timedelta(days=40)
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}],
        "name": [{"use": "official", "family": "Example", "given": ["Sam"]}],
        "gender": gender,
        "birthDate": born.isoformat(),
        **extra,
    }


def problem(
    code: str,
    display: str,
    *,
    onset_days: int = 10,
    clinical: str | None = "active",
    verification: str | None = "confirmed",
    system: str = SNOMED,
    abated_days: int | None = None,
) -> dict[str, Any]:
    """A problem-list Condition with HL7 status codings, onset and recorded dates."""
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"cond-{next(_ids)}",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "subject": SUBJECT,
        "onsetDateTime": instant(onset_days),
        "recordedDate": instant(onset_days),
    }
    if clinical:
        res["clinicalStatus"] = {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}
            ]
        }
    if verification:
        res["verificationStatus"] = {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}
            ]
        }
    if abated_days is not None:
        res["abatementDateTime"] = instant(abated_days)
    return res


def prescription(
    display: str,
    *,
    code: str | None = None,
    started_days: int = 30,
    valid_days: int = 56,
    dose: str = "one tablet daily",
    status: str = "active",
    route: tuple[str, str] = ("26643006", "Oral route"),
) -> dict[str, Any]:
    """A GP MedicationRequest: dosage instruction, route, and a validity period for the issue."""
    concept: dict[str, Any] = {"text": display}
    if code:
        concept["coding"] = [{"system": RXNORM, "code": code, "display": display}]
    start = started_days
    return {
        "resourceType": "MedicationRequest",
        "id": f"med-{next(_ids)}",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": SUBJECT,
        "authoredOn": instant(start),
        "dosageInstruction": [
            {
                "text": dose,
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "route": {"coding": [{"system": SNOMED, "code": route[0], "display": route[1]}]},
            }
        ],
        "dispenseRequest": {
            "validityPeriod": {"start": day(start), "end": day(start - valid_days)},
            "numberOfRepeatsAllowed": 0,
        },
    }


def measurement(
    code: str, display: str, value: float, unit: str, *, days_before: int = 1, category: str = "vital-signs"
) -> dict[str, Any]:
    """A final Observation with a UCUM valueQuantity."""
    return {
        "resourceType": "Observation",
        "id": f"obs-{next(_ids)}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": category,
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": SUBJECT,
        "effectiveDateTime": instant(days_before),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def temperature(celsius: float, days_before: int = 1) -> dict[str, Any]:
    """A body temperature in degrees Celsius."""
    return measurement("8310-5", "Body temperature", celsius, "Cel", days_before=days_before)


def crp(mg_per_l: float, days_before: int = 2) -> dict[str, Any]:
    """A laboratory CRP in mg/L."""
    return measurement(
        "1988-5",
        "C reactive protein [Mass/volume] in Serum or Plasma",
        mg_per_l,
        "mg/L",
        days_before=days_before,
        category="laboratory",
    )


def blood_pressure(systolic: float, diastolic: float, days_before: int = 0) -> dict[str, Any]:
    """A blood-pressure panel with systolic and diastolic components (as Synthea and EHRs send it)."""
    panel = measurement("85354-9", "Blood pressure panel", 0, "mm[Hg]", days_before=days_before)
    del panel["valueQuantity"]
    panel["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": loinc, "display": name}]},
            "valueQuantity": {"value": value, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
        }
        for loinc, name, value in (
            ("8480-6", "Systolic blood pressure", systolic),
            ("8462-4", "Diastolic blood pressure", diastolic),
        )
    ]
    return panel


def imaging_order(
    code: str,
    display: str,
    *,
    order_id: str = "img-1",
    system: str = CPT,
    reasons: tuple[tuple[str, str], ...] = (("279039007", "Low back pain"),),
    reason_text: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """A draft imaging ServiceRequest as a GP system sends it on order-select or order-sign."""
    reason_codes: list[dict[str, Any]] = [
        {"coding": [{"system": SNOMED, "code": c, "display": d}], "text": d} for c, d in reasons
    ]
    if reason_text:
        reason_codes.append({"text": reason_text})
    order: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "category": [{"coding": [{"system": SNOMED, "code": "363679005", "display": "Imaging"}]}],
        "priority": "routine",
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "subject": SUBJECT,
        "requester": {"reference": "Practitioner/gp-1", "display": "Dr A GP"},
        "authoredOn": instant(0),
    }
    if reason_codes:
        order["reasonCode"] = reason_codes
    if note:
        order["note"] = [{"text": note, "time": instant(0)}]
    return order


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A searchset Bundle of these resources, or None (a prefetch query that matched nothing)."""
    if not resources:
        return None
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": res,
                "search": {"mode": "match"},
            }
            for res in resources
        ],
    }


def ehr_call(
    patient: dict[str, Any] | None,
    record: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    *,
    hook: str = "order-select",
    missing: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A CDS Hooks call with every prefetch key answered except `missing`, and no FHIR server to ask."""
    prefetch: dict[str, Any] = {"patient": patient}
    for key in PREFETCH_KEYS.values():
        prefetch[key] = searchset([r for r in record if PREFETCH_KEYS.get(r["resourceType"]) == key])
    for key in missing:
        prefetch.pop(key, None)
    call = hook_call(orders, hook=hook, prefetch=prefetch)
    # No fhirServer: what the EHR did not prefetch cannot be fetched, and the card must say so.
    call.pop("fhirServer", None)
    return call
