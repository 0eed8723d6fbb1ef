"""The prefetch templates the services declare, and which record category each key fills.

Templates use only the CDS Hooks 2.0 restricted query subset (instance read, type search by
`patient` reference, token equality with comma-separated values) and the `{{context.patientId}}`
token, so any conformant client can satisfy them (reference/cds-hooks.md §1.4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

LOINC = "http://loinc.org"

# Observation codes the red-flag rules read. Source: /work/shared/reference/terminology.md §4
# (inflammatory markers, temperature, weight) and the FHIR R4 vital-signs profile codes for the
# NICE NG51 "systemically unwell" signs. No verified LOINC code for the NEWS2 total score was
# found, so NEWS2 is not queried.
OBSERVATION_CODES: tuple[tuple[str, str], ...] = (
    ("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma"),
    ("76485-2", "C reactive protein [Moles/volume] in Serum or Plasma"),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count"),
    ("4537-7", "Erythrocyte sedimentation rate by Westergren method"),
    ("30341-2", "Erythrocyte sedimentation rate"),
    ("8310-5", "Body temperature"),
    ("8331-1", "Oral temperature"),
    ("29463-7", "Body weight"),
    ("8480-6", "Systolic blood pressure"),
    # Systolic pressure usually arrives as a component of a blood-pressure panel: 85354-9 is the
    # FHIR R4 vital-signs panel, 55284-4 the one Synthea records (terminology.md source S6).
    ("85354-9", "Blood pressure panel with all children optional"),
    ("55284-4", "Blood pressure systolic and diastolic"),
    ("8867-4", "Heart rate"),
    ("9279-1", "Respiratory rate"),
)

_OBSERVATION_CODE_PARAM = ",".join(f"{LOINC}|{code}" for code, _ in OBSERVATION_CODES)

PREFETCH_TEMPLATES: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "observations": f"Observation?patient={{{{context.patientId}}}}&code={_OBSERVATION_CODE_PARAM}",
    "procedures": "Procedure?patient={{context.patientId}}",
}

# Without these the rules cannot say anything safe: the hook answers 412 when they cannot be had.
REQUIRED_KEYS: frozenset[str] = frozenset({"patient", "conditions"})

# The PatientRecord.unavailable category each key fills; two keys can fill one category.
KEY_CATEGORY: dict[str, str] = {
    "patient": "patient",
    "conditions": "conditions",
    "medicationRequests": "medications",
    "medicationStatements": "medications",
    "observations": "observations",
    "procedures": "procedures",
}

_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
# FHIR `id` datatype: a token value must be one, so a context value can never alter the query.
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


class UnfillableTemplate(ValueError):
    """A template token has no safe value in this hook call's context."""


def _token_value(token: str, context: Mapping[str, Any]) -> str:
    if token.startswith("context."):
        value = context.get(token.removeprefix("context."))
        if isinstance(value, str) and _FHIR_ID.fullmatch(value):
            return value
        raise UnfillableTemplate(f"{{{{{token}}}}} has no FHIR id value in the context")
    if token in _USER_TOKENS:
        user = context.get("userId")
        prefix = f"{_USER_TOKENS[token]}/"
        if isinstance(user, str) and user.startswith(prefix):
            value = user.removeprefix(prefix)
            if _FHIR_ID.fullmatch(value):
                return value
        raise UnfillableTemplate(f"{{{{{token}}}}} does not match context.userId")
    raise UnfillableTemplate(f"{{{{{token}}}}} is not a prefetch token")


def fill_template(template: str, context: Mapping[str, Any]) -> str:
    """The relative FHIR query for one template in this context (raises UnfillableTemplate)."""
    return _TOKEN.sub(lambda m: quote(_token_value(m.group(1), context), safe=""), template)
