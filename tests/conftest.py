"""Shared fixtures: every test builds its own app from explicit settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, Response, request, request_finished
from flask.testing import FlaskClient

from cds_service import Settings, create_app
from cds_service.api.routes import HOOK_ENDPOINT
from tests.invariants import hook_response_problems

pytest_plugins = ["tests.fixtures.fhir_server", "tests.fixtures.postgres", "tests.fixtures.browser"]

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_bundles"
SYNTHEA = REPO / "tests" / "data" / "synthea"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an in-process app: auth off, a throwaway SQLite database."""
    return Settings(auth="off", database_url=f"sqlite:///{tmp_path / 'spine-cds.sqlite'}")


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """A fresh app per test."""
    yield create_app(settings)


# Every 200 answer of a hook endpoint, from any app any test builds in this process, is checked
# against the CDS Hooks spec (tests/invariants.py); the autouse fixture fails the test that got it.
_BROKEN_RESPONSES: list[str] = []


def _check_hook_response(sender: Flask, response: Response, **_: object) -> None:
    if request.method == "POST" and request.endpoint == HOOK_ENDPOINT and response.status_code == 200:
        _BROKEN_RESPONSES.extend(hook_response_problems(response.get_json(silent=True)))


request_finished.connect(_check_hook_response)


@pytest.fixture(autouse=True)
def _hook_responses_follow_the_spec() -> Iterator[None]:
    """Fail the test if any hook response it produced broke the CDS Hooks spec."""
    _BROKEN_RESPONSES.clear()
    yield
    broken, _BROKEN_RESPONSES[:] = list(_BROKEN_RESPONSES), []
    assert not broken, "a hook response broke the CDS Hooks spec:\n  " + "\n  ".join(broken)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask's test client for the app."""
    return app.test_client()
