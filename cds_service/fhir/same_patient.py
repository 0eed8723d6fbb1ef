"""Whose data is it: a resource that names another patient than `context.patientId` is never used.

A prefetched Patient must have the context's id; a record resource (Condition, Observation,
MedicationRequest/Statement, Procedure, QuestionnaireResponse...) must not have a `subject` or
`patient` reference to another Patient. A reference that cannot be read as `Patient/<id>` (a
contained `#p`, a `urn:uuid:`, an identifier only, none at all) names no other patient: real clients
send such records, and they are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cds_service.fhir.record import Resource

# `Patient/<id>`, relative or absolute, optionally with a version: the id is the FHIR id datatype.
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")
# The elements that say whose record a resource is.
PATIENT_ELEMENTS = ("subject", "patient")


def referenced_patient_id(reference: Any) -> str | None:
    """The id of the Patient a Reference points at, or None when it names no Patient by id."""
    if not isinstance(reference, dict):
        return None
    value = reference.get("reference")
    if not isinstance(value, str):
        return None
    match = _PATIENT_REFERENCE.search(value.strip())
    return match.group(1) if match else None


def names_another_patient(resource: Resource, patient_id: str) -> bool:
    """True when the resource is, or is about, a patient other than `patient_id`."""
    return holds_another_patient((resource,), patient_id)


def holds_another_patient(resources: Iterable[Resource], patient_id: str) -> bool:
    """True when any of the resources is, or is about, another patient."""
    # Read for every resource of every call (5,000 in a long record): the usual shapes are settled
    # inline, the pattern runs only on a reference that names a Patient other than the usual form.
    own_reference = f"Patient/{patient_id}"
    for resource in resources:
        if resource.get("resourceType") == "Patient":
            rid = resource.get("id")
            if isinstance(rid, str) and rid != patient_id:
                return True
            continue
        for element in PATIENT_ELEMENTS:
            reference = resource.get(element)
            if not isinstance(reference, dict):
                continue
            value = reference.get("reference")
            if value == own_reference or not isinstance(value, str) or "Patient/" not in value:
                continue
            named = referenced_patient_id(reference)
            if named is not None and named != patient_id:
                return True
    return False
