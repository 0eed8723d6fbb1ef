"""The Flask application factory: each area of the service installs itself here."""

from __future__ import annotations

from flask import Flask

from cds_service.api.auth import install_auth
from cds_service.api.cors import install_cors
from cds_service.api.errors import install_error_handlers
from cds_service.api.observability import install_observability
from cds_service.api.routes import install_routes
from cds_service.knowledge import load_knowledge
from cds_service.openapi import install_openapi
from cds_service.settings import Settings
from cds_service.store import install_store


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app; settings default to the `SPINE_CDS_` environment."""
    settings = settings or Settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["spine_cds.settings"] = settings
    app.extensions["spine_cds.knowledge"] = load_knowledge()
    install_observability(app)  # request id, JSON logs, metrics, /healthz, /readyz
    install_store(app)  # decision and feedback log
    install_cors(app)
    install_auth(app)  # CDS Hooks client JWT
    install_error_handlers(app)  # CdsError family -> status + OperationOutcome
    install_routes(app)  # discovery, hooks, feedback
    install_openapi(app)  # GET /openapi.json, generated from the protocol models
    return app
