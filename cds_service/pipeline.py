"""The hook pipeline: choose the orders, read the record, decide a pathway, render the cards.

Each stage is a pure function of the previous stage's output; the only I/O is the record loader
(prefetch resolution and FHIR fallback fetch), which runs only when a spinal imaging order is
actually being evaluated.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cds_service.cards import build_response
from cds_service.fhir.load import load_patient_record
from cds_service.fhir.record import PatientRecord, Resource
from cds_service.hooks.orders import candidate_orders
from cds_service.hooks.request import HookRequest
from cds_service.hooks.response import HookResponse
from cds_service.hooks.services import CdsService
from cds_service.knowledge import Knowledge
from cds_service.rules.answers import ClinicianAnswers
from cds_service.rules.classify import classify_order
from cds_service.rules.model import Decision, ImagingOrder
from cds_service.rules.pathway import decide
from cds_service.settings import Settings
from cds_service.smart.hook_answers import ehr_answers, with_ehr_answers

# Namespace for consult ids: the same hook call and order always get the same consult id.
CONSULT_NAMESPACE = uuid.UUID("6f1c1d0e-8c55-4c1e-9a53-5a1d3f0c9b21")

RecordLoader = Callable[[Sequence[Resource]], PatientRecord]
# The red-flag check answers that apply to each order, by order reference (one look-up per call).
AnswerFinder = Callable[[Sequence[ImagingOrder]], Mapping[str, ClinicianAnswers]]


@dataclass(frozen=True)
class HookOutcome:
    """The response to send and the decisions behind it (for the decision log)."""

    response: HookResponse
    decisions: tuple[Decision, ...]


def consult_id_for(hook_instance: str, order_reference: str) -> str:
    """Deterministic `urn:uuid:` for one order in one hook call."""
    return f"urn:uuid:{uuid.uuid5(CONSULT_NAMESPACE, f'{hook_instance}|{order_reference}')}"


def evaluate_hook(
    *,
    hook: str,
    hook_instance: str,
    context: dict[str, Any],
    load_record: RecordLoader,
    knowledge: Knowledge,
    settings: Settings,
    find_answers: AnswerFinder | None = None,
) -> HookOutcome:
    """Run one hook call through classification, red-flag detection, pathway choice and cards.

    `find_answers` is asked only when there is a spinal order to decide."""
    to_evaluate, other_orders = candidate_orders(hook, context)
    orders = [o for o in (classify_order(r, knowledge) for r in to_evaluate) if o is not None]
    if not orders:
        return HookOutcome(HookResponse(cards=[]), ())
    record = load_record(other_orders)
    answers = find_answers(orders) if find_answers is not None else {}
    decisions = tuple(
        decide(
            order,
            record,
            knowledge,
            consult_id=consult_id_for(hook_instance, order.reference),
            answers=answers.get(order.reference),
        )
        for order in orders
    )
    response = build_response(decisions, knowledge=knowledge, settings=settings, hook=hook)
    return HookOutcome(response, decisions)


def evaluate_call(
    call: HookRequest,
    service: CdsService,
    *,
    knowledge: Knowledge,
    settings: Settings,
    find_answers: AnswerFinder | None = None,
) -> HookOutcome:
    """Run a validated hook request through the pipeline for one service; the record comes from the
    request's prefetch, or from its FHIR server for what the prefetch lacks."""

    loaded: list[PatientRecord] = []

    def load_record(other_orders: Sequence[Resource]) -> PatientRecord:
        loaded.append(
            load_patient_record(
                context=call.context,
                prefetch=call.prefetch,
                fhir_server=call.fhirServer,
                access_token=call.access_token,
                settings=settings,
                other_orders=other_orders,
                templates=service.prefetch,
            )
        )
        return loaded[-1]

    def answers_for(orders: Sequence[ImagingOrder]) -> Mapping[str, ClinicianAnswers]:
        """The check page's answers, with the EHR's (QuestionnaireResponses) for this patient."""
        patient_id = str(call.context.get("patientId", ""))
        ehr = ehr_answers(loaded[-1], patient_id=patient_id, settings=settings) if loaded else None
        return with_ehr_answers(find_answers, ehr)(orders)

    return evaluate_hook(
        hook=service.hook,
        hook_instance=call.hookInstance,
        context=call.context,
        load_record=load_record,
        knowledge=knowledge,
        settings=settings,
        find_answers=answers_for,
    )
