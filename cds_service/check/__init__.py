"""The red-flag check: a link on every card that asks, a page for the answers, answers in the decision.

- The card (`link_cards`): each card with questions carries an `absolute` link to `/check/<token>`
  on SPINE_CDS_PUBLIC_URL; the token is signed and expires (tickets.py).
- The page (page.py): the questions as a plain form; the answers go to the shared database.
- The hook (`answer_finder`): the next call for that patient and order reads them, one query.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence

from flask import Flask

from cds_service.app_parts import settings_of
from cds_service.cards.ids import card_uuid
from cds_service.cards.templating import labels
from cds_service.check.page import ANSWERS_KEY, LINKS_KEY, check_pages
from cds_service.check.questionnaire import install_questionnaires
from cds_service.check.tickets import CheckLinks, CheckTicket
from cds_service.hooks.response import Link
from cds_service.metrics import CHECK_LINKS
from cds_service.pipeline import AnswerFinder, HookOutcome
from cds_service.rules.answers import ClinicianAnswers
from cds_service.rules.model import ImagingOrder
from cds_service.settings import Settings
from cds_service.smart import card_link
from cds_service.store import get_store
from cds_service.store.answers import AnswerStore

log = logging.getLogger(__name__)


def secret_key(settings: Settings) -> str:
    """SPINE_CDS_SECRET_KEY, or a random key for this process with a loud warning."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    log.warning(
        "SPINE_CDS_SECRET_KEY is not set: red-flag check links are signed with a random key for this "
        "server only, so a link made by another node or before a restart is refused. Set the same "
        "key on every node."
    )
    return secrets.token_urlsafe(32)


def install_check(app: Flask) -> None:
    """The check pages, their signing key and session cookie (CSRF), and the answers' store."""
    settings = settings_of(app)
    key = secret_key(settings)
    app.secret_key = key
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        # The form may be open as long as its link works.
        WTF_CSRF_TIME_LIMIT=settings.check_token_minutes * 60,
    )
    app.extensions[LINKS_KEY] = CheckLinks(key, settings.public_url, minutes=settings.check_token_minutes)
    app.extensions[ANSWERS_KEY] = AnswerStore(get_store(app), valid_minutes=settings.answers_valid_minutes)
    app.register_blueprint(check_pages)
    install_questionnaires(app)


def answer_finder(app: Flask, patient_hash: str | None) -> AnswerFinder | None:
    """The look-up of this patient's answers for a hook call (None without a patient)."""
    if patient_hash is None:
        return None
    store: AnswerStore = app.extensions[ANSWERS_KEY]

    def find(orders: Sequence[ImagingOrder]) -> Mapping[str, ClinicianAnswers]:
        return store.find(patient_hash, orders)

    return find


def link_cards(app: Flask, outcome: HookOutcome, *, service_id: str, patient_hash: str | None) -> None:
    """Add the red-flag check link to each card that still asks questions."""
    if patient_hash is None:
        return
    links: CheckLinks = app.extensions[LINKS_KEY]
    cards = {card.uuid: card for card in outcome.response.cards}
    for decision in outcome.decisions:
        card = cards.get(card_uuid(decision.consult_id)) if decision.ask_about else None
        if card is None:
            continue
        ticket = CheckTicket.of(decision, service_id=service_id, patient_hash=patient_hash)
        label = labels()["check_link"]
        check_link = Link.model_construct(label=label, url=links.url(ticket), type="absolute")
        link = card_link(settings_of(app), label, check_link)
        card.links = [*(card.links or []), link]
        CHECK_LINKS.inc()


__all__ = ["answer_finder", "install_check", "link_cards"]
