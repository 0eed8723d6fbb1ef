"""What the card proposes for each pathway: its indicator and the one-click actions on the order.

Every action names the real draft order (`resourceId` or the draft resource itself) so the EHR can
apply it; suggestion uuids derive from the consult id so feedback joins the decision. Suggestions
and actions are built with `model_construct`, like the cards (see `cds_service.cards.build_card`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cds_service.cards.catalogue import OrderableCode, imaging_code, orderable
from cds_service.cards.ids import ConsultUuids
from cds_service.cards.render import CardWording
from cds_service.fhir.record import Resource
from cds_service.hooks.response import Action, Indicator, SelectionBehavior, Suggestion
from cds_service.rules.model import Decision, Modality, Pathway, RedFlagId


@dataclass(frozen=True)
class CardPlan:
    """The card a decision gets: indicator (None: imaging supported, nothing to add) and suggestions."""

    indicator: Indicator | None
    suggestion_keys: tuple[str, ...] = ()
    recommended: str | None = None
    selection_behavior: SelectionBehavior = "at-most-one"


def plan_card(decision: Decision) -> CardPlan:
    """Choose the indicator and suggestions from the pathway, the ordered modality and the patient."""
    plan = pathway_plan(decision)
    # A record that says the patient has died is never quiet or merely informative: the order may be
    # on the wrong patient, or the record wrong, and the GP must look before anything is booked.
    if decision.deceased is not None and plan.indicator in (None, "info"):
        return replace(plan, indicator="warning")
    return plan


def pathway_plan(decision: Decision) -> CardPlan:
    """Choose the indicator and suggestions from the pathway and the ordered modality."""
    modality = decision.order.modality
    pathway = decision.pathway
    if pathway == Pathway.EMERGENCY_DEPARTMENT:
        return CardPlan("critical", ("cancel-order",), recommended="cancel-order")
    if pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER:
        if modality == Modality.MRI:
            return CardPlan("info", ("state-suspected-cancer",), recommended="state-suspected-cancer")
        return CardPlan("warning", ("switch-to-mri",), recommended="switch-to-mri")
    if pathway == Pathway.MRI_WITH_INFECTION_BLOODS:
        keys: list[str] = []
        if modality != Modality.MRI:
            keys.append("switch-to-mri")
        if not decision.recent_infection_bloods:
            keys.append("order-infection-bloods")
        if not keys:
            return CardPlan(None)
        indicator: Indicator = "info" if modality == Modality.MRI else "warning"
        return CardPlan(indicator, tuple(keys), selection_behavior="any")
    if pathway == Pathway.XRAY_SUSPECTED_FRACTURE:
        if modality == Modality.XRAY:
            return CardPlan(None)
        return CardPlan("warning", ("switch-to-xray",), recommended="switch-to-xray")
    if pathway == Pathway.SPECIALIST_PATHWAY:
        # Inflammatory back pain belongs to rheumatology, not to a physiotherapy referral.
        if RedFlagId.INFLAMMATORY_BACK_PAIN in decision.red_flag_ids:
            return CardPlan("warning", ("cancel-order",))
        return CardPlan("warning", ("cancel-order", "refer-physiotherapy"))
    if pathway == Pathway.IMAGING_NOT_INDICATED:
        return CardPlan("warning", ("cancel-order", "refer-physiotherapy"), recommended="cancel-order")
    return CardPlan(None)  # imaging-may-be-appropriate: imaging is supported


def _new_request(decision: Decision, code: OrderableCode, draft: Resource) -> dict[str, Any]:
    """A draft ServiceRequest for the same patient, requester and encounter as the imaging order."""
    intent = draft.get("intent")  # from the pruned draft: an empty intent is no intent
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": intent if isinstance(intent, str) else "order",
        "code": code.concept(),
    }
    for key in ("subject", "encounter", "requester"):
        # Taken from the pruned draft: a reference made only of empty values is not there at all.
        if isinstance(draft.get(key), dict):
            request[key] = draft[key]
    return request


def _with_malignancy_reason(resource: dict[str, Any]) -> dict[str, Any]:
    reasons = resource.get("reasonCode")
    reason_list = list(reasons) if isinstance(reasons, list) else ([reasons] if reasons else [])
    reason_list.append(orderable("suspected-malignancy-reason").concept())
    resource["reasonCode"] = reason_list
    resource["priority"] = "urgent"
    return resource


class _CardActions:
    """The actions behind one card's suggestions, on the decision's order (`draft`, pruned)."""

    def __init__(self, decision: Decision, wording: CardWording, draft: Resource) -> None:
        self.decision = decision
        self.describe = wording.describe
        self.draft = draft
        self._cancel: Action | None = None

    @property
    def cancel(self) -> Action:
        """The delete of the draft order: two suggestions offer it, one object serves both."""
        # Not functools.cached_property: it takes a lock on every first read (Python 3.11), which
        # cost more than the action it saves.
        if self._cancel is None:
            reference = self.decision.order.reference
            self._cancel = Action.model_construct(
                type="delete", description=self.describe("cancel-order"), resourceId=reference
            )
        return self._cancel

    def of(self, key: str) -> list[Action]:
        """The actions of one suggestion ("cancel-order", "switch-to-mri", ...)."""
        decision, describe, draft = self.decision, self.describe, self.draft
        if key == "cancel-order":
            return [self.cancel]
        if key == "refer-physiotherapy":
            referral = _new_request(decision, orderable("physiotherapy-referral"), draft)
            return [
                self.cancel,
                Action.model_construct(
                    type="create", description=describe("create-physiotherapy-referral"), resource=referral
                ),
            ]
        if key in ("switch-to-mri", "switch-to-xray", "state-suspected-cancer"):
            updated = dict(draft)
            kind = {"switch-to-mri": "update-to-mri", "switch-to-xray": "update-to-xray"}.get(
                key, "update-state-suspected-cancer"
            )
            if key != "state-suspected-cancer":
                # The replacement test for the order's regions.
                modality = "mri" if key == "switch-to-mri" else "xray"
                updated["code"] = imaging_code(modality, decision.order.regions).concept()
            if decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER:
                updated = _with_malignancy_reason(updated)
            return [Action.model_construct(type="update", description=describe(kind), resource=updated)]
        if key == "order-infection-bloods":
            return [
                Action.model_construct(
                    type="create",
                    description=describe("create-crp"),
                    resource=_new_request(decision, orderable("crp"), draft),
                ),
                Action.model_construct(
                    type="create",
                    description=describe("create-full-blood-count"),
                    resource=_new_request(decision, orderable("full-blood-count"), draft),
                ),
            ]
        raise ValueError(f"unknown suggestion {key!r}")


def build_suggestions(
    decision: Decision, plan: CardPlan, wording: CardWording, draft: Resource, uuids: ConsultUuids
) -> list[Suggestion]:
    """The card's suggestions, labelled by the pathway template, each with a stable uuid.

    `draft` is the order `pruned` of empty values, shared: every action has its own shallow copy.
    """
    actions = _CardActions(decision, wording, draft)
    return [
        Suggestion.model_construct(
            label=wording.label(key),
            uuid=uuids.suggestion(key),
            isRecommended=True if key == plan.recommended else None,
            actions=actions.of(key),
        )
        for key in plan.suggestion_keys
    ]
