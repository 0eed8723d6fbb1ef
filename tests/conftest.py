"""Shared fixtures: every test builds its own app from explicit settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, request, request_finished
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from werkzeug.test import TestResponse

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


# Hypothesis: a fixed, derandomised profile by default (and so in CI), the same run on every
# machine; `HYPOTHESIS_PROFILE=explore` draws fresh random inputs and many more of them. Neither
# keeps an example database: a failure is reproduced with the seed hypothesis prints.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, database=None, print_blob=True)


def pytest_configure(config: pytest.Config) -> None:
    """Load the hypothesis profile: HYPOTHESIS_PROFILE, else explore when a seed is given, else ci."""
    if config.getoption("hypothesis_profile", None):
        return  # hypothesis's own --hypothesis-profile option, already loaded by its plugin
    # A derandomised run ignores --hypothesis-seed: asking for a seed means asking for random inputs.
    seeded = config.getoption("hypothesis_seed", None) is not None
    hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("explore" if seeded else "ci"))


# Every 200 answer of a hook endpoint, from any app any test builds in this process, is checked
# against the CDS Hooks spec (tests/invariants.py). The test client raises inside the call that got
# the answer (so hypothesis shrinks the input that made it); the autouse fixture catches answers
# made any other way (schemathesis, a bare WSGI call) when the test ends.
_BROKEN_RESPONSES: list[str] = []


def _check_hook_response(sender: Flask, response: Response, **_: object) -> None:
    if request.method == "POST" and request.endpoint == HOOK_ENDPOINT and response.status_code == 200:
        _BROKEN_RESPONSES.extend(hook_response_problems(response.get_json(silent=True)))


request_finished.connect(_check_hook_response)


class SpecCheckingClient(FlaskClient):
    """Flask's test client, failing the call itself when its hook answer breaks the spec."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        """Make the request; raise AssertionError when the answer broke the CDS Hooks spec."""
        before = len(_BROKEN_RESPONSES)
        response = super().open(*args, **kwargs)
        broken = _BROKEN_RESPONSES[before:]
        del _BROKEN_RESPONSES[before:]
        assert not broken, "a hook response broke the CDS Hooks spec:\n  " + "\n  ".join(broken)
        return response


Flask.test_client_class = SpecCheckingClient  # every app's test_client(), however the test built it


@pytest.fixture(autouse=True)
def _hook_responses_follow_the_spec() -> Iterator[None]:
    """Fail the test if a hook response it got other than through the test client broke the spec."""
    _BROKEN_RESPONSES.clear()
    yield
    broken, _BROKEN_RESPONSES[:] = list(_BROKEN_RESPONSES), []
    assert not broken, "a hook response broke the CDS Hooks spec:\n  " + "\n  ".join(broken)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask's test client for the app."""
    return app.test_client()
