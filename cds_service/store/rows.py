"""Turn decisions and feedback items into log rows: pure functions, no database.

Privacy choices: the patient id is stored only as HMAC-SHA256 under an operator's key (a plain
hash of a guessable id could be reversed by trying every id); an override's free-text
`userComment` is reduced to "a comment was given", because a GP may type anything into it,
patient details included, and the report only needs the coded reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cds_service.cards.ids import ConsultUuids
from cds_service.cards.suggestions import plan_card
from cds_service.errors import BadRequest
from cds_service.hooks.response import HookResponse
from cds_service.rules.model import Decision

OUTCOMES = ("accepted", "overridden")


def patient_hash(key: bytes, patient_id: str | None) -> str | None:
    """The keyed hash that stands for a patient id in the log."""
    if not patient_id:
        return None
    return hmac.new(key, patient_id.encode(), hashlib.sha256).hexdigest()


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value is not None else None


def decision_rows(
    *,
    service_id: str,
    hook: str,
    hook_instance: str,
    patient_key: str | None,
    decisions: Sequence[Decision],
    response: HookResponse,
    now: datetime,
    client_id: str | None = None,
    tenant: str | None = None,
) -> list[dict[str, Any]]:
    """One row per decision, with the card and suggestion uuids the client was actually shown.

    `client_id` and `tenant` are the verified client JWT's `iss` and `tenant` (None with auth off)."""
    cards = {card.uuid: card for card in response.cards if card.uuid}
    rows = []
    for decision in decisions:
        uuids = ConsultUuids(decision.consult_id)
        uuid = uuids.card()
        card = cards.get(uuid)
        order = decision.order
        shown = {s.uuid for s in (card.suggestions or []) if s.uuid} if card else set()
        # What each shown suggestion does, so the dashboard can count imaging changed by the cards.
        kinds = {
            suggestion: key
            for key in plan_card(decision).suggestion_keys
            if (suggestion := uuids.suggestion(key)) in shown
        }
        rows.append(
            {
                "consult_id": decision.consult_id,
                "card_uuid": uuid,
                "card_shown": card is not None,
                "suggestion_uuids": [s.uuid for s in (card.suggestions or []) if s.uuid] if card else [],
                "service_id": service_id[:200],
                "hook": hook[:64],
                "hook_instance": hook_instance[:200],
                "patient_hash": patient_key,
                "order_reference": order.reference[:300],
                "order_system": _clip(order.matched.system, 300),
                "order_code": _clip(order.matched.code, 100),
                "order_display": _clip(order.matched.display, 500),
                "modality": order.modality.value,
                "regions": [region.value for region in order.regions],
                "pathway": decision.pathway.value,
                "rating": decision.rating.value,
                "red_flags": [flag.value for flag in decision.red_flag_ids],
                "not_checked": list(decision.not_checked),
                "decided_at": now,
                "answers_used": decision.answers_used,
                "pathway_without_answers": (
                    decision.pathway_without_answers.value if decision.pathway_without_answers else None
                ),
                "client_id": _clip(client_id, 300),
                "tenant": _clip(tenant, 200),
                "suggestion_kinds": kinds or None,
            }
        )
    return rows


def _text(item: Mapping[str, Any], name: str, limit: int) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadRequest(f"feedback item needs `{name}` as a string of at most {limit} characters")
    return value


def _outcome_time(item: Mapping[str, Any]) -> datetime:
    raw = _text(item, "outcomeTimestamp", 64)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as error:
        raise BadRequest("feedback `outcomeTimestamp` is not an RFC 3339 date-time") from error
    # Normalised so the same instant written two ways is the same item.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _accepted(item: Mapping[str, Any]) -> list[str]:
    suggestions = item.get("acceptedSuggestions") or []
    if not isinstance(suggestions, list):
        raise BadRequest("feedback `acceptedSuggestions` must be a list")
    ids = []
    for suggestion in suggestions:
        value = suggestion.get("id") if isinstance(suggestion, Mapping) else None
        if not isinstance(value, str) or len(value) > 200:
            raise BadRequest("each accepted suggestion needs an `id` string")
        ids.append(value)
    return sorted(set(ids))


def _reason(item: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    override = item.get("overrideReason")
    if override is None:
        return {}, False
    if not isinstance(override, Mapping):
        raise BadRequest("feedback `overrideReason` must be an object")
    reason = override.get("reason") or {}
    if not isinstance(reason, Mapping):
        raise BadRequest("feedback `overrideReason.reason` must be a Coding")
    comment = override.get("userComment")
    return reason, isinstance(comment, str) and bool(comment.strip())


def feedback_row(service_id: str, item: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """The log row of one feedback item; BadRequest when the item is not a CDS Hooks feedback item."""
    if not isinstance(item, Mapping):
        raise BadRequest("each feedback item must be an object")
    card = _text(item, "card", 64)
    outcome = _text(item, "outcome", 16)
    if outcome not in OUTCOMES:
        raise BadRequest("feedback `outcome` must be `accepted` or `overridden`")
    outcome_at = _outcome_time(item)
    accepted = _accepted(item)
    reason, has_comment = _reason(item)
    system = reason.get("system") if isinstance(reason.get("system"), str) else None
    code = reason.get("code") if isinstance(reason.get("code"), str) else None
    display = reason.get("display") if isinstance(reason.get("display"), str) else None
    identity = [service_id, card, outcome, outcome_at.isoformat(), accepted, system, code]
    return {
        "item_key": hashlib.sha256(json.dumps(identity).encode()).hexdigest(),
        "service_id": service_id[:200],
        "card_uuid": card,
        "outcome": outcome,
        "accepted_suggestions": accepted,
        "override_system": _clip(system, 300),
        "override_code": _clip(code, 100),
        "override_display": _clip(display, 500),
        "has_comment": has_comment,
        "outcome_at": outcome_at,
        "received_at": now,
    }
