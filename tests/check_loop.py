"""Helpers of the red-flag check tests: the card's link, the page's form, and a re-fired order."""

from __future__ import annotations

import copy
import json
import re
import uuid
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from itsdangerous.encoding import base64_decode

from tests.hook_requests import MRI_LUMBAR, complete_prefetch, hook_call, service_request

CHECK_LINK_LABEL = "Answer the red-flag questions (30 seconds)"


def lumbar_mri_call(
    patient_id: str = "pat-lbp-49", *, order_id: str = "example-request-id"
) -> dict[str, Any]:
    """An order-select for a lumbar MRI of a 49-year-old with back pain and nothing else on record."""
    call = hook_call([service_request(MRI_LUMBAR, order_id=order_id)])
    prefetch = complete_prefetch()
    prefetch["patient"]["id"] = patient_id
    call["prefetch"] = prefetch
    call["context"]["patientId"] = patient_id
    return call


def refired(call: dict[str, Any], *, order_id: str | None = None, hook: str | None = None) -> dict[str, Any]:
    """The same order selected again: a new hookInstance (and a new order id when given)."""
    again = copy.deepcopy(call)
    again["hookInstance"] = str(uuid.uuid4())
    if hook is not None:
        again["hook"] = hook
    if order_id is not None:
        order = again["context"]["draftOrders"]["entry"][0]["resource"]
        order["id"] = order_id
        if "selections" in again["context"]:
            again["context"]["selections"] = [f"ServiceRequest/{order_id}"]
    return again


def the_card(answer: dict[str, Any]) -> dict[str, Any]:
    """The one card of a hook answer."""
    cards = answer["cards"]
    assert len(cards) == 1, cards
    card: dict[str, Any] = cards[0]
    return card


def check_link(answer: dict[str, Any]) -> str | None:
    """The card's red-flag check link, or None."""
    for link in the_card(answer).get("links") or []:
        if link["label"] == CHECK_LINK_LABEL:
            assert link["type"] == "absolute"
            url: str = link["url"]
            return url
    return None


def path_of(url: str) -> str:
    """The path of an absolute URL (what a test client requests)."""
    return urlsplit(url).path


class FormReader(HTMLParser):
    """The check page's form: its CSRF token and the radio groups (red-flag ids) it asks."""

    def __init__(self) -> None:
        super().__init__()
        self.csrf_token: str | None = None
        self.questions: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect the hidden CSRF field and the radio groups."""
        found = dict(attrs)
        if tag != "input":
            return
        if found.get("name") == "csrf_token":
            self.csrf_token = found.get("value")
        elif found.get("type") == "radio" and found.get("name") not in self.questions:
            self.questions.append(str(found.get("name")))


def read_form(html: str) -> FormReader:
    """Parse the check page's form."""
    reader = FormReader()
    reader.feed(html)
    return reader


def ask_about_items(card: dict[str, Any]) -> list[str]:
    """The card's "Ask about" list items (empty when the card asks nothing)."""
    detail = card.get("detail", "")
    if "**Ask about**" not in detail:
        return []
    section = detail.split("**Ask about**", 1)[1].split("\n\n**", 1)[0]
    return re.findall(r"^- (.+)$", section, flags=re.MULTILINE)


def check_links_read(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with each red-flag check link's URL replaced by what its token holds (unverified):
    two calls a second apart make different tokens (each is timed) for the same ticket."""
    read = copy.deepcopy(answer)
    for card in read.get("cards", []):
        for link in card.get("links") or []:
            if link["label"] == CHECK_LINK_LABEL:
                token = path_of(link["url"]).rsplit("/", 1)[1]
                payload = token.split(".")[0]
                link["url"] = json.loads(base64_decode(payload))
    return read
