"""The Flask application factory."""

from __future__ import annotations

from flask import Flask

from cds_service.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app; settings default to the `SPINE_CDS_` environment."""
    settings = settings or Settings()
    app = Flask(__name__)
    app.extensions["spine_cds.settings"] = settings
    return app
