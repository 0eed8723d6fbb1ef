"""Decisions, responses and feedback items shaped as the pipeline and EHRs produce them, and the
feedback rows a service kept."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Flask

from cds_service.cards.ids import card_uuid, suggestion_uuid
from cds_service.hooks.response import Card, HookResponse, Source, Suggestion
from cds_service.rules.model import Decision, Evidence, Modality, Pathway, Rating, RedFlag, RedFlagId
from cds_service.store import DecisionStore, get_store, tables
from tests.card_decisions import imaging_order

PATIENT_ID = "patient-7694b55e-b670-44a5-b426-c56027e97986"


def lumbar_mri_decision(pathway: Pathway = Pathway.URGENT_MRI_SUSPECTED_CANCER) -> Decision:
    """An MRI lumbar spine order decided on `pathway`, with a history-of-cancer red flag."""
    order = imaging_order(
        Modality.MRI, order_id=str(uuid.uuid4()), display="MRI lumbar spine without contrast"
    )
    flag = RedFlag(
        RedFlagId.HISTORY_OF_CANCER,
        (Evidence("Condition/1", "Malignant neoplasm of breast", source="problem list"),),
    )
    return Decision(
        order=order,
        pathway=pathway,
        rating=Rating.APPROPRIATE,
        consult_id=f"urn:uuid:{uuid.uuid4()}",
        red_flags=(flag,),
        not_checked=("medications could not be read",),
    )


def response_with_cards(*decisions: Decision) -> HookResponse:
    """A response with one card per decision, carrying two suggestions."""
    cards = [
        Card(
            uuid=card_uuid(d.consult_id),
            summary="Book MRI directly, stating suspected cancer",
            indicator="warning",
            source=Source(label="Spinal Imaging in Primary Care"),
            selectionBehavior="at-most-one",
            suggestions=[
                Suggestion(label="Keep", uuid=suggestion_uuid(d.consult_id, "keep-order")),
                Suggestion(label="Cancel", uuid=suggestion_uuid(d.consult_id, "cancel-order")),
            ],
        )
        for d in decisions
    ]
    return HookResponse(cards=cards)


def log_signed(
    store: DecisionStore, decision: Decision, *, hook_instance: str, patient_id: str = PATIENT_ID
) -> None:
    """Log one decision as an order-sign call that showed its card."""
    store.log_decisions(
        service_id="spinal-imaging-order-sign",
        hook="order-sign",
        hook_instance=hook_instance,
        patient_id=patient_id,
        decisions=[decision],
        response=response_with_cards(decision),
    )


def accepted(decision: Decision, when: str = "2026-11-20T10:15:00Z") -> dict[str, Any]:
    """The feedback item of a GP accepting the card's first suggestion."""
    return {
        "card": card_uuid(decision.consult_id),
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion_uuid(decision.consult_id, "keep-order")}],
        "outcomeTimestamp": when,
    }


def overridden(
    decision: Decision, code: str = "already-imaged", comment: str | None = None
) -> dict[str, Any]:
    """The feedback item of a GP dismissing the card with an override reason."""
    reason: dict[str, Any] = {
        "reason": {"system": "https://spine-cds.example.org/reasons", "code": code, "display": code}
    }
    if comment is not None:
        reason["userComment"] = comment
    return {
        "card": card_uuid(decision.consult_id),
        "outcome": "overridden",
        "overrideReason": reason,
        "outcomeTimestamp": "2026-11-20T10:16:00Z",
    }


def stored_feedback(app: Flask) -> list[sa.Row]:
    """The feedback rows the app's store kept."""
    with get_store(app).engine.connect() as connection:
        return list(connection.execute(sa.select(tables.feedback)))
