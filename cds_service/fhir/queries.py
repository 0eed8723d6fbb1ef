"""The prefetch templates the services declare, and which record category each key fills.

Templates use only the CDS Hooks 2.0 restricted query subset (instance read, type search by
`patient` reference, token equality with comma-separated values) and the `{{context.patientId}}`
token, so any conformant client can satisfy them (reference/cds-hooks.md §1.4).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import quote

from cds_service.knowledge import knowledge_directory
from cds_service.knowledge.valueset import parse_value_set

# The knowledge value sets (knowledge/valuesets/<id>.json) whose Observation codes the red-flag
# rules read: inflammatory markers, temperature and weight (terminology.md §4) and the NICE NG51
# "systemically unwell" signs. Prefetch asks for exactly these, so a large record's other
# observations never travel.
OBSERVATION_VALUE_SETS = (
    "crp",
    "wcc",
    "esr",
    "body-temperature",
    "body-weight",
    "blood-pressure",
    "heart-rate",
    "respiratory-rate",
    "news2",
)


def observation_codes(directory: Traversable | None = None) -> tuple[tuple[str, str], ...]:
    """(system, code) of every concept in OBSERVATION_VALUE_SETS, in file order, each once.

    Prefix-match concepts are left out: a token search matches whole codes only.
    """
    root = (directory or knowledge_directory()) / "valuesets"
    found: dict[tuple[str, str], None] = {}
    for value_set_id in OBSERVATION_VALUE_SETS:
        value_set = parse_value_set(json.loads((root / f"{value_set_id}.json").read_text("utf-8")))
        found.update(dict.fromkeys((c.system, c.code) for c in value_set.concepts if not c.prefix_match))
    return tuple(found)


OBSERVATION_CODES = observation_codes()

_OBSERVATION_CODE_PARAM = ",".join(f"{system}|{code}" for system, code in OBSERVATION_CODES)

PREFETCH_TEMPLATES: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "observations": f"Observation?patient={{{{context.patientId}}}}&code={_OBSERVATION_CODE_PARAM}",
    "procedures": "Procedure?patient={{context.patientId}}",
}

# The clinician's red-flag answers written to the EHR by the SMART app (docs/smart-on-fhir.md). Not a
# record category: questionnaire_answers.py reads them, and only for this patient, whatever the
# server's search returned.
QUESTIONNAIRE_RESPONSES_KEY = "questionnaireResponses"


def prefetch_templates(questionnaire_url: str) -> dict[str, str]:
    """Every template the services declare: the record's, and the responses to our Questionnaire
    (its canonical URL follows SPINE_CDS_CANONICAL_BASE). Only restricted-subset parameters: a
    reference, token equality, `_sort`."""
    responses = (
        "QuestionnaireResponse?patient={{context.patientId}}"
        f"&questionnaire={quote(questionnaire_url, safe=':/')}&status=completed,amended&_sort=-authored"
    )
    return {**PREFETCH_TEMPLATES, QUESTIONNAIRE_RESPONSES_KEY: responses}


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
