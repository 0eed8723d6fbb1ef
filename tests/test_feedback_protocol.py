"""Feedback endpoint: what the clinician did with a card, validated as CDS Hooks 2.0 says (cds-fb-1/2/3).

Storage (idempotence, the store being down) is tested with the store; here only the protocol.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.hook_requests import SELECT_URL, SIGN_URL
from tests.store_samples import stored_feedback
from tests.test_hook_protocol import assert_outcome

FEEDBACK_URL = f"{SELECT_URL}/feedback"
CARD = "7e4d3f2a-1b6c-4d8e-9f0a-1b2c3d4e5f60"


def item(**fields: Any) -> dict[str, Any]:
    """An `overridden` feedback item, with fields replaced or (None) removed."""
    base: dict[str, Any] = {"card": CARD, "outcome": "overridden", "outcomeTimestamp": "2026-11-02T10:15:00Z"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def acknowledged(response: TestResponse) -> None:
    """The spec's answer to feedback: 200 with an empty JSON object."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {}


def test_a_dismissed_card_is_acknowledged_with_200(client: FlaskClient) -> None:
    acknowledged(client.post(FEEDBACK_URL, json={"feedback": [item()]}))


def test_an_accepted_suggestion_is_acknowledged(client: FlaskClient) -> None:
    accepted = item(outcome="accepted", acceptedSuggestions=[{"id": "0d9f7a6e-cancel"}])
    acknowledged(client.post(FEEDBACK_URL, json={"feedback": [accepted]}))


def test_sandbox_override_reason_without_display_is_accepted(client: FlaskClient) -> None:
    # The sandbox drops `display` from the reason it sends back (digest §4).
    reason = {
        "reason": {"code": "suspected-cancer", "system": "https://spine-cds.example.org/fhir/CodeSystem/x"}
    }
    acknowledged(client.post(FEEDBACK_URL, json={"feedback": [item(overrideReason=reason)]}))


def test_override_with_only_a_comment_is_accepted(client: FlaskClient) -> None:
    reason = {"userComment": "seen by spinal surgeon last week"}
    acknowledged(client.post(FEEDBACK_URL, json={"feedback": [item(overrideReason=reason)]}))


def test_feedback_for_several_cards_in_one_post(client: FlaskClient, app: Flask) -> None:
    items = [item(card=f"card-{i}") for i in range(5)]
    acknowledged(client.post(f"{SIGN_URL}/feedback", json={"feedback": items}))
    assert sorted(row.card_uuid for row in stored_feedback(app)) == [f"card-{i}" for i in range(5)]


def test_client_extensions_on_feedback_are_accepted_and_not_kept(client: FlaskClient, app: Flask) -> None:
    deep: Any = {"a": 1}
    for _ in range(600):
        deep = [deep]
    extended = item(extension={"org.example.trace": deep}, vendorField="x")
    acknowledged(client.post(FEEDBACK_URL, json={"feedback": [extended]}))
    [row] = stored_feedback(app)
    assert (row.card_uuid, row.outcome) == (CARD, "overridden")
    assert not any("org.example" in str(value) or value == "x" for value in row)


@pytest.mark.parametrize(
    "bad, why",
    [
        (item(outcome="dismissed"), "cds-fb-1: outcome is accepted or overridden"),
        (item(outcome="accepted"), "cds-fb-2: accepted needs acceptedSuggestions"),
        (item(outcome="accepted", acceptedSuggestions=[]), "cds-fb-2: an empty list is not a suggestion"),
        (item(outcome="accepted", acceptedSuggestions=[{}]), "a suggestion is named by id"),
        (item(overrideReason={}), "cds-fb-3: a reason or a comment"),
        (item(overrideReason={"reason": {"code": "x"}}), "a reason Coding needs its system"),
        (item(card=None), "card is required"),
        (item(outcomeTimestamp=None), "outcomeTimestamp is required"),
        (item(outcomeTimestamp="yesterday"), "RFC 3339"),
        (item(outcomeTimestamp="2026-11-02T10:15:00"), "RFC 3339 needs a time zone"),
        (item(outcomeTimestamp="0001-01-01T00:00:00+01:00"), "before year 1 in UTC"),
        ("overridden", "an item is an object"),
    ],
)
def test_invalid_feedback_item_is_400(client: FlaskClient, bad: Any, why: str) -> None:
    response = client.post(FEEDBACK_URL, json={"feedback": [item(card="good"), bad]})
    outcome = assert_outcome(response, 400)
    assert "feedback.1" in outcome["issue"][0]["diagnostics"], why


@pytest.mark.parametrize("body", [{}, {"feedback": []}, {"feedback": item()}, [item()]])
def test_feedback_body_that_is_not_a_list_of_items_is_400(client: FlaskClient, body: Any) -> None:
    assert_outcome(client.post(FEEDBACK_URL, json=body), 400)


def test_feedback_that_is_not_json_is_415(client: FlaskClient) -> None:
    assert_outcome(client.post(FEEDBACK_URL, data="card=1", content_type="text/plain"), 415)


def test_feedback_for_an_unknown_service_is_404(client: FlaskClient) -> None:
    assert_outcome(client.post("/cds-services/nope/feedback", json={"feedback": [item()]}), 404)


def test_get_on_feedback_is_405(client: FlaskClient) -> None:
    assert_outcome(client.get(FEEDBACK_URL), 405)
