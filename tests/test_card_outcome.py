"""Each card's latest feedback is copied onto its decision, whatever order the EHR reports it in."""

from __future__ import annotations

import sqlalchemy as sa

from cds_service import Settings
from cds_service.cards.ids import card_uuid, suggestion_uuid
from cds_service.hooks.response import Card, HookResponse, Source, Suggestion
from cds_service.rules.model import Decision, Modality, Pathway
from cds_service.store import open_store, tables
from tests.card_decisions import decision
from tests.store_samples import overridden


def _fracture_card(fracture: Decision) -> Card:
    """The card the service shows for an MRI ordered on the suspected-fracture pathway."""
    return Card(
        uuid=card_uuid(fracture.consult_id),
        summary="X-ray first: suspected osteoporotic fracture",
        indicator="warning",
        source=Source(label="Spinal Imaging in Primary Care"),
        selectionBehavior="at-most-one",
        suggestions=[
            Suggestion(label="Order X-ray", uuid=suggestion_uuid(fracture.consult_id, "switch-to-xray"))
        ],
    )


def _card_row(url: str) -> sa.Row[tuple[str | None, str | None, str | None]]:
    engine = sa.create_engine(url)
    d = tables.decisions
    with engine.connect() as connection:
        row = connection.execute(sa.select(d.c.outcome, d.c.override_code, d.c.accepted_kinds)).one()
    engine.dispose()
    return row


def test_an_mri_changed_to_xray_then_overridden_keeps_the_latest_outcome(database_url: str) -> None:
    store = open_store(Settings(database_url=database_url, patient_hash_key="k"))
    fracture = decision(Pathway.XRAY_SUSPECTED_FRACTURE, Modality.MRI)
    store.log_decisions(
        service_id="spinal-imaging-order-sign",
        hook="order-sign",
        hook_instance="i-1",
        patient_id="p1",
        decisions=[fracture],
        response=HookResponse(cards=[_fracture_card(fracture)]),
    )
    later = {**overridden(fracture, code="patient-circumstances"), "outcomeTimestamp": "2026-11-20T11:00:00Z"}
    accepted = {
        "card": later["card"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion_uuid(fracture.consult_id, "switch-to-xray")}],
        "outcomeTimestamp": "2026-11-20T10:00:00Z",
    }
    store.save_feedback(service_id="spinal-imaging-order-sign", items=[accepted])
    assert tuple(_card_row(database_url)) == ("accepted", None, "switch-to-xray")
    store.save_feedback(service_id="spinal-imaging-order-sign", items=[later])
    assert tuple(_card_row(database_url)) == ("overridden", "patient-circumstances", None)
    # The earlier acceptance reported again (a retry) does not undo the later override.
    store.save_feedback(
        service_id="spinal-imaging-order-sign",
        items=[{**accepted, "outcomeTimestamp": "2026-11-20T09:00:00Z"}],
    )
    assert tuple(_card_row(database_url)) == ("overridden", "patient-circumstances", None)
    store.close()
