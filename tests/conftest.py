"""Shared fixtures: every test builds its own app from explicit settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service import Settings, create_app

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
    """A fresh app per test."""
    yield create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask's test client for the app."""
    return app.test_client()
