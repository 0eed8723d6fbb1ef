"""CDS Hooks requests shaped like the ones real clients send (the sandbox's PAMA screen, digest §4)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

SELECT_URL = "/cds-services/spinal-imaging-order-select"
SIGN_URL = "/cds-services/spinal-imaging-order-sign"
CPT = "http://www.ama-assn.org/go/cpt"
SNOMED = "http://snomed.info/sct"
PATIENT_ID = "pat-lbp-49"
ORDER_ID = "example-request-id"

MRI_LUMBAR = {"system": CPT, "code": "72148", "display": "MRI lumbar spine without contrast"}
MRI_KNEE = {"system": CPT, "code": "73721", "display": "MRI lower extremity joint without contrast"}


def service_request(
    coding: dict[str, Any] | None, *, order_id: str = ORDER_ID, status: str = "draft"
) -> dict[str, Any]:
    """A draft imaging order as the sandbox sends it (reasonCode a single object, as it does)."""
    order: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": order_id,
        "status": status,
        "intent": "plan",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authoredOn": "2026-11-02",
        "reasonCode": {"coding": [{"system": SNOMED, "code": "279039007", "display": "Low back pain"}]},
    }
    if coding is not None:
        order["code"] = {"coding": [coding]}
    return order


def complete_prefetch() -> dict[str, Any]:
    """Every prefetch key answered: a 49-year-old with back pain and nothing else on record."""
    empty = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    return {
        "patient": {
            "resourceType": "Patient",
            "id": PATIENT_ID,
            "gender": "female",
            "birthDate": "1977-03-14",
        },
        "conditions": {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Condition",
                        "id": "lbp",
                        "subject": {"reference": f"Patient/{PATIENT_ID}"},
                        "clinicalStatus": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                    "code": "active",
                                }
                            ]
                        },
                        "code": {
                            "coding": [{"system": SNOMED, "code": "279039007", "display": "Low back pain"}]
                        },
                        "onsetDateTime": "2026-07-01",
                    }
                }
            ],
        },
        "medicationRequests": None,
        "medicationStatements": None,
        "observations": copy.deepcopy(empty),
        "procedures": None,
    }


def hook_call(
    orders: list[dict[str, Any]],
    *,
    hook: str = "order-select",
    selections: list[str] | None = None,
    prefetch: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A hook call with the draft orders in a Bundle WITHOUT `type`, as real clients send it."""
    context: dict[str, Any] = {
        "userId": "Practitioner/COREPRACTITIONER1",
        "patientId": PATIENT_ID,
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order} for order in orders]},
    }
    if hook == "order-select":
        context["selections"] = (
            selections
            if selections is not None
            else [f"ServiceRequest/{o['id']}" for o in orders if "id" in o]
        )
    return {
        "hookInstance": str(uuid.uuid4()),
        "hook": hook,
        "fhirServer": "http://127.0.0.1:9/fhir",
        "context": context,
        "prefetch": prefetch if prefetch is not None else complete_prefetch(),
    }
