"""SMART on FHIR: the red-flag questions as a SMART app the EHR launches.

- `install_smart`: the launch pages (pages.py); the Questionnaire they answer is the one
  cds_service/check/questionnaire.py publishes at `GET /Questionnaire/spinal-red-flags`.
- `card_link`: which link a card that asks carries, the SMART app's launch URL when
  SPINE_CDS_SMART_CLIENT_ID is set, else the red-flag check page's absolute link.
- hook_answers.py: the answers the app wrote, read back through the `questionnaireResponses` prefetch.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask

from cds_service.app_parts import settings_of
from cds_service.hooks.response import Link
from cds_service.settings import Settings
from cds_service.smart.hook_answers import smart_enabled
from cds_service.smart.pages import install_smart as _install_pages

log = logging.getLogger(__name__)

LAUNCH_PATH = "/smart/launch"


def _secret(app: Flask, settings: Settings) -> str:
    """SPINE_CDS_SECRET_KEY (also Flask's key, for the CSRF session), or a random per-process key."""
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value()
    elif app.secret_key:
        secret = str(app.secret_key)
    else:
        log.warning(
            "SPINE_CDS_SECRET_KEY is not set: SMART launches are sealed with a random key for this "
            "server only, so a launch begun on another node or before a restart is refused."
        )
        secret = secrets.token_urlsafe(32)
    app.secret_key = app.secret_key or secret
    return secret


def install_smart(app: Flask) -> None:
    """The SMART app's pages."""
    _install_pages(app, _secret(app, settings_of(app)))


def card_link(settings: Settings, label: str, check_link: Link) -> Link:
    """The link on a card that asks: the SMART app when configured (the EHR adds `iss` and
    `launch`), else the red-flag check page."""
    if not smart_enabled(settings):
        return check_link
    return Link(label=label, url=f"{settings.public_url.rstrip('/')}{LAUNCH_PATH}", type="smart")


__all__ = ["LAUNCH_PATH", "card_link", "install_smart"]
