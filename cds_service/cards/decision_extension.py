"""The machine-readable decision on the order: a systemAction `update` adding extensions only.

Follows the Argonaut PAMA pattern (reference/cds-hooks.md section 3): the draft ServiceRequest is
sent back unchanged except for our `spinal-imaging-decision` extension and the PAMA rating
extensions, so EHR analytics and audit can read the pathway without parsing cards.
"""

from __future__ import annotations

from typing import Any

from cds_service.fhir.record import Resource
from cds_service.hooks.response import Action
from cds_service.rules.model import Decision, Suspicion
from cds_service.settings import Settings

PAMA_RATING_SYSTEM = "http://fhir.org/argonaut/CodeSystem/pama-rating"
PAMA_RATING_URL = "http://fhir.org/argonaut/Extension/pama-rating"
PAMA_CONSULT_ID_URL = "http://fhir.org/argonaut/Extension/pama-rating-consult-id"


def decision_extension_url(settings: Settings) -> str:
    """The url of the complex `spinal-imaging-decision` extension."""
    return f"{settings.canonical_base}/StructureDefinition/spinal-imaging-decision"


def suspected_condition_system(settings: Settings) -> str:
    """The project CodeSystem of suspected conditions (knowledge/codesystems/suspected-condition.json)."""
    return f"{settings.canonical_base}/CodeSystem/suspected-condition"


def suspicion_extension(suspicion: Suspicion, settings: Settings) -> dict[str, Any]:
    """One `suspicion` sub-extension: the condition, its level and the red flags behind it."""
    coding = {"system": suspected_condition_system(settings), "code": suspicion.condition.value}
    parts: list[dict[str, Any]] = [
        {"url": "condition", "valueCoding": coding},
        {"url": "level", "valueCode": suspicion.level.value},
    ]
    parts += [{"url": "redFlag", "valueCode": flag.value} for flag in suspicion.flags]
    return {"url": "suspicion", "extension": parts}


def decision_extensions(decision: Decision, settings: Settings) -> list[dict[str, Any]]:
    """Our complex extension plus the Argonaut PAMA rating and consult-id extensions."""
    rating = {"system": PAMA_RATING_SYSTEM, "code": decision.rating.value}
    parts: list[dict[str, Any]] = [{"url": "pathway", "valueCode": decision.pathway.value}]
    parts += [{"url": "redFlag", "valueCode": flag.value} for flag in decision.red_flag_ids]
    # Issue 9: what is suspected, the condition the pathway follows first (extends, renames nothing).
    parts += [suspicion_extension(s, settings) for s in decision.suspicions]
    parts += [
        {"url": "rating", "valueCoding": dict(rating)},
        {"url": "consultId", "valueUri": decision.consult_id},
    ]
    return [
        {"url": decision_extension_url(settings), "extension": parts},
        {"url": PAMA_RATING_URL, "valueCodeableConcept": {"coding": [dict(rating)]}},
        {"url": PAMA_CONSULT_ID_URL, "valueUri": decision.consult_id},
    ]


def decision_action(decision: Decision, settings: Settings, draft: Resource) -> Action:
    """The `update` of the draft order carrying the decision; earlier decisions on it are replaced.

    `draft` is the order `pruned` of empty values (shared): the action has its own shallow copy.
    """
    ours = {decision_extension_url(settings), PAMA_RATING_URL, PAMA_CONSULT_ID_URL}
    resource = dict(draft)
    existing = resource.get("extension")
    kept = (
        [e for e in existing if not (isinstance(e, dict) and e.get("url") in ours)]
        if isinstance(existing, list)
        else []
    )
    resource["extension"] = kept + decision_extensions(decision, settings)
    # Built without validation like the cards' actions (see cds_service.cards.build_card).
    return Action.model_construct(
        type="update",
        description=(
            f"Record the spinal imaging decision on {decision.order.reference}: "
            f"pathway {decision.pathway.value}, rating {decision.rating.value}."
        ),
        resource=resource,
    )


def read_decision(resource: dict[str, Any], settings: Settings) -> dict[str, Any] | None:
    """The pathway, red flags, suspicions, rating and consult id on an order, or None (tests, demo)."""
    for ext in resource.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == decision_extension_url(settings):
            out: dict[str, Any] = {"redFlags": []}
            for part in ext.get("extension", []):
                if part["url"] == "suspicion":
                    out.setdefault("suspicions", []).append(read_suspicion(part))
                elif part["url"] == "redFlag":
                    out["redFlags"].append(part["valueCode"])
                elif part["url"] == "rating":
                    out["rating"] = part["valueCoding"]["code"]
                else:
                    out[part["url"]] = part.get("valueCode") or part.get("valueUri")
            return out
    return None


def read_suspicion(part: dict[str, Any]) -> dict[str, Any]:
    """A `suspicion` sub-extension as {condition, level, redFlags}."""
    out: dict[str, Any] = {"redFlags": []}
    for item in part.get("extension", []):
        if item["url"] == "condition":
            out["condition"] = item["valueCoding"]["code"]
        elif item["url"] == "level":
            out["level"] = item["valueCode"]
        elif item["url"] == "redFlag":
            out["redFlags"].append(item["valueCode"])
    return out
