"""The service's answer to an end-to-end hook call, read per draft order as a GP would read it."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from cds_service import Settings
from cds_service.cards.decision_extension import read_decision
from cds_service.cards.ids import card_uuid
from tests.hook_requests import SELECT_URL, SIGN_URL


class Answer:
    """The service's answer to one hook call, indexed by draft order."""

    def __init__(self, body: dict[str, Any], settings: Settings) -> None:
        self.body = body
        self.cards = body["cards"]
        self.decisions: dict[str, dict[str, Any]] = {}
        for action in body.get("systemActions") or []:
            decision = read_decision(action["resource"], settings)
            if decision:
                self.decisions[action["resource"]["id"]] = decision

    def pathway(self, order_id: str = "img-1") -> str:
        """The pathway put on this order."""
        return str(self.decisions[order_id]["pathway"])

    def card(self, order_id: str = "img-1") -> dict[str, Any] | None:
        """The card for this order (its uuid derives from the decision's consult id), or None."""
        uuid = card_uuid(self.decisions[order_id]["consultId"])
        found = [c for c in self.cards if c["uuid"] == uuid]
        return found[0] if found else None

    def only_card(self) -> dict[str, Any]:
        """The single card of a one-order call."""
        assert len(self.cards) == 1, self.cards
        card: dict[str, Any] = self.cards[0]
        return card


def ask(client: FlaskClient, settings: Settings, call: dict[str, Any]) -> Answer:
    """Send the call to the service for its hook and read the answer."""
    url = SIGN_URL if call["hook"] == "order-sign" else SELECT_URL
    response = client.post(url, json=call)
    assert response.status_code == 200, response.get_data(as_text=True)
    return Answer(response.get_json(), settings)


def labels(card: dict[str, Any]) -> list[str]:
    """The button labels."""
    return [s["label"] for s in card.get("suggestions") or []]


def actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every action behind every button."""
    return [a for s in card.get("suggestions") or [] for a in s["actions"]]


def targets(card: dict[str, Any]) -> set[str]:
    """The ids of the draft orders the card's buttons change or cancel."""
    ids = {a["resourceId"].split("/")[-1] for a in actions(card) if a["type"] == "delete"}
    return ids | {a["resource"]["id"] for a in actions(card) if a["type"] == "update"}
