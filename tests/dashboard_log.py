"""A decision and feedback log filled through real hook and feedback calls, with what it should show.

Every sample bundle goes to the hook endpoint; then each card gets the feedback a GP might give:
emergency and suspected-cancer cards are overridden (so they belong on the safety watch list),
fracture and infection cards accepted (an MRI made an X-ray, bloods added), the other cards
alternately accepted (the recommended or first suggestion) and left alone.
`post(path, body) -> (status, json)` is the transport: Flask's test client or HTTP to a server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cds_service import Settings
from cds_service.cards.decision_extension import read_decision
from cds_service.cards.ids import card_uuid, suggestion_uuid
from cds_service.samples import load_sample, sample_files, service_id_for
from tests.conftest import SAMPLES

Post = Callable[[str, dict[str, Any]], tuple[int, Any]]
SUGGESTION_KINDS = (
    "cancel-order",
    "refer-physiotherapy",
    "switch-to-mri",
    "switch-to-xray",
    "state-suspected-cancer",
    "order-infection-bloods",
)
WATCHED = ("emergency-department", "urgent-mri-suspected-cancer")
REASON = {
    "system": "https://spine-cds.example.org/fhir/CodeSystem/override-reason",
    "code": "patient-circumstances",
    "display": "Patient circumstances",
}


@dataclass
class ExpectedFigures:
    """What the dashboard must show for the calls made."""

    decisions: int = 0
    cards: int = 0
    accepted: int = 0
    overridden: int = 0
    by_pathway: Counter[str] = field(default_factory=Counter)
    accepted_kinds: Counter[str] = field(default_factory=Counter)
    watched_consults: list[str] = field(default_factory=list)

    @property
    def no_feedback(self) -> int:
        """Cards shown that got no feedback."""
        return self.cards - self.accepted - self.overridden


def _decisions(body: dict[str, Any]) -> list[dict[str, Any]]:
    settings = Settings()
    found = []
    for action in body.get("systemActions") or []:
        decision = read_decision(action.get("resource") or {}, settings)
        if decision is not None:
            found.append(decision)
    return found


def _feedback(card: dict[str, Any], pathway: str, turn: int) -> dict[str, Any] | None:
    now = datetime.now(UTC).isoformat()
    if pathway in WATCHED:
        reason = {"reason": REASON, "userComment": "seen in clinic"}
        return {
            "card": card["uuid"],
            "outcome": "overridden",
            "overrideReason": reason,
            "outcomeTimestamp": now,
        }
    suggestions = card.get("suggestions") or []
    always_accepted = pathway in ("xray-suspected-fracture", "mri-with-infection-bloods")
    if not suggestions or (turn % 2 and not always_accepted):
        return None
    chosen = next((s for s in suggestions if s.get("isRecommended")), suggestions[0])
    return {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": chosen["uuid"]}],
        "outcomeTimestamp": now,
    }


def fill_log(post: Post) -> ExpectedFigures:
    """Send every sample, then feedback on its cards; return the figures the dashboard must show."""
    expected = ExpectedFigures()
    turn = 0
    for path in sample_files(SAMPLES):
        sample = load_sample(path)
        service = service_id_for(sample.request)
        status, body = post(f"/cds-services/{service}", sample.request)
        assert status == 200, (path.name, status, body)
        decisions = _decisions(body)
        expected.decisions += len(decisions)
        expected.by_pathway.update(d["pathway"] for d in decisions)
        items = []
        for card in body.get("cards") or []:
            decision = next(d for d in decisions if card_uuid(d["consultId"]) == card["uuid"])
            pathway = decision["pathway"]
            expected.cards += 1
            item = _feedback(card, pathway, turn)
            turn += 1
            if item is None:
                continue
            items.append(item)
            if item["outcome"] == "accepted":
                expected.accepted += 1
                chosen = item["acceptedSuggestions"][0]["id"]
                kinds = {suggestion_uuid(decision["consultId"], kind): kind for kind in SUGGESTION_KINDS}
                expected.accepted_kinds[kinds[chosen]] += 1
            else:
                expected.overridden += 1
                expected.watched_consults.append(decision["consultId"])
        if items:
            status, _ = post(f"/cds-services/{service}/feedback", {"feedback": items})
            assert status == 200
    return expected
