"""The Flask application factory: each area of the service installs itself here."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from cds_service import startup
from cds_service.api.auth import install_auth
from cds_service.api.cors import install_cors
from cds_service.api.errors import install_error_handlers
from cds_service.api.observability import configure_json_logging, install_observability
from cds_service.api.routes import install_routes
from cds_service.api.unread_body import DISCARD_FACTOR, DiscardUnreadBody
from cds_service.app_parts import KNOWLEDGE_KEY, SETTINGS_KEY
from cds_service.check import install_check
from cds_service.dashboard import install_dashboard
from cds_service.knowledge import load_knowledge
from cds_service.openapi import install_openapi
from cds_service.settings import Settings
from cds_service.smart import install_smart
from cds_service.store import install_store

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class CollectGarbageBetweenRequests:
    """WSGI middleware pausing the cyclic garbage collector while requests are being handled.

    Parsing a large prefetch allocates hundreds of thousands of dicts and lists that all survive
    until the answer is sent, so the collector, triggered every 700 allocations, walks the growing
    record again and again: about half the time of a 5,000-resource call. The request's objects
    are freed by reference counting when it ends; the collector runs again as soon as no request
    is in flight, so cyclic garbage still goes, between requests.
    """

    def __init__(self, wsgi_app: WsgiApp) -> None:
        self.wsgi_app = wsgi_app
        self._lock = threading.Lock()
        self._in_flight = 0
        self._paused_by_us = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Handle one request with the collector paused (counted, so threads share one pause)."""
        with self._lock:
            self._in_flight += 1
            if self._in_flight == 1 and gc.isenabled():
                gc.disable()
                self._paused_by_us = True
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            with self._lock:
                self._in_flight -= 1
                if self._in_flight == 0 and self._paused_by_us:
                    self._paused_by_us = False
                    gc.enable()


def freeze_startup_heap() -> None:
    """Move everything alive after start-up (knowledge, templates, modules) out of the collector's
    reach: a full collection then walks only what requests left behind, not the whole app, which
    otherwise shows as 30-40 ms pauses in the slowest hook calls. Call once per worker process."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, announce: bool = True) -> Flask:
    """Build the WSGI app; settings default to the `SPINE_CDS_` environment.

    `announce`: log the start-up warnings about how the service is exposed (auth off, ...). False in
    a gunicorn worker (the master said them once) and in an in-process run that serves no one.
    """
    settings = settings or Settings()
    configure_json_logging(settings.log_level)  # before anything logs, the knowledge's warning first
    if announce:
        startup.announce(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions[SETTINGS_KEY] = settings
    app.extensions[KNOWLEDGE_KEY] = load_knowledge()
    install_observability(app)  # request id, JSON logs, metrics, /healthz, /readyz
    install_store(app)  # decision and feedback log
    install_cors(app)
    install_auth(app)  # CDS Hooks client JWT
    install_error_handlers(app)  # CdsError family -> status + OperationOutcome
    install_routes(app)  # discovery, hooks, feedback
    install_check(app)  # the red-flag check pages (/check/) and the answers' store
    install_smart(app)  # the SMART app (/smart/): the red-flag questions launched from the EHR
    install_openapi(app)  # GET /openapi.json, generated from the protocol models
    install_dashboard(app)  # /dashboard, when SPINE_CDS_DASHBOARD_USERS names a users file
    app.wsgi_app = CollectGarbageBetweenRequests(app.wsgi_app)  # type: ignore[method-assign]
    # A refused body is drained after the answer, so a client still sending it reads the 413.
    app.wsgi_app = DiscardUnreadBody(  # type: ignore[method-assign]
        app.wsgi_app, bound=DISCARD_FACTOR * settings.max_body_bytes
    )
    return app
