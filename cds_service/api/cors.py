"""CORS for browser-based CDS clients (the CDS Hooks Sandbox, SMART apps).

Origins come only from SPINE_CDS_CORS_ORIGINS: with none configured no CORS header is sent, and
`*` is honoured only when an operator writes it. Clients authenticate with a Bearer JWT, never
with cookies, so credentials are not allowed across origins.
"""

from __future__ import annotations

import logging

from flask import Flask, Response
from flask_cors import CORS

from cds_service.app_parts import settings_of

log = logging.getLogger("cds_service.cors")

# What a CDS client sends cross-origin (CDS Hooks 2.0 §Security, cds-hooks sandbox).
ALLOWED_METHODS = ["GET", "POST", "OPTIONS"]
ALLOWED_HEADERS = ["Authorization", "Content-Type"]
EXPOSED_HEADERS = ["X-Request-ID"]
PREFLIGHT_MAX_AGE_SECONDS = 600


def install_cors(app: Flask) -> None:
    """Answer preflight and add CORS headers on every route for the configured origins."""
    settings = settings_of(app)
    origins = settings.cors_origins
    if not origins:
        return
    wildcard = "*" in origins
    if wildcard:  # said once at start-up (cds_service.startup)
        origins = ["*"]
    CORS(
        app,
        resources={r"/*": {"origins": origins}},
        methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        supports_credentials=False,
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
        send_wildcard=wildcard,
    )
    if not wildcard:
        # The answer depends on the Origin even with one allowed origin: a shared cache must
        # not hand one origin's response to another.
        @app.after_request
        def _vary_on_origin(response: Response) -> Response:
            response.vary.add("Origin")
            return response
