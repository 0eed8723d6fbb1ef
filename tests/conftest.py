"""Shared fixtures: every test builds its own app from explicit settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, Response, request
from flask.testing import FlaskClient

from cds_service import Settings, create_app
from cds_service.api.routes import HOOK_ENDPOINT
from tests.invariants import hook_response_problems

pytest_plugins = ["tests.fixtures.fhir_server", "tests.fixtures.postgres"]

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_bundles"
SYNTHEA = REPO / "tests" / "data" / "synthea"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an in-process app: auth off, a throwaway SQLite database."""
    return Settings(auth="off", database_url=f"sqlite:///{tmp_path / 'spine-cds.sqlite'}")


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """A fresh app per test; every 200 hook answer it gives is checked against the CDS Hooks spec."""
    app = create_app(settings)
    broken: list[str] = []

    @app.after_request
    def _check_hook_response(response: Response) -> Response:
        if request.endpoint == HOOK_ENDPOINT and response.status_code == 200:
            broken.extend(hook_response_problems(response.get_json(silent=True)))
        return response

    yield app
    assert not broken, "a hook response broke the CDS Hooks spec:\n  " + "\n  ".join(broken)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask's test client for the app."""
    return app.test_client()
