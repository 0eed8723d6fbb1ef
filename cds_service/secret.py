"""The web pages' signing key (SPINE_CDS_SECRET_KEY): dashboard sessions, red-flag check tokens."""

from __future__ import annotations

import logging
import secrets

from flask import Flask

from cds_service.settings import Settings

log = logging.getLogger(__name__)


def install_secret_key(app: Flask) -> None:
    """Set the app's secret key from the settings, or a random one for this process (loudly)."""
    settings: Settings = app.extensions["spine_cds.settings"]
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        app.secret_key = settings.secret_key.get_secret_value()
        return
    log.warning(
        "SPINE_CDS_SECRET_KEY IS NOT SET: web pages are signed with a random key for this process "
        "only, so sign-ins and links end at every restart and do not work across nodes. Set the same "
        "secret on every node."
    )
    app.secret_key = secrets.token_urlsafe(32)
