"""What the app is built with, as every blueprint reads it: its settings, loaded knowledge and version."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flask import Flask

from cds_service.knowledge import Knowledge
from cds_service.settings import Settings

SETTINGS_KEY = "spine_cds.settings"
KNOWLEDGE_KEY = "spine_cds.knowledge"


def settings_of(app: Flask) -> Settings:
    """The settings the app was created with."""
    settings: Settings = app.extensions[SETTINGS_KEY]
    return settings


def knowledge_of(app: Flask) -> Knowledge:
    """The knowledge the app loaded at start-up."""
    knowledge: Knowledge = app.extensions[KNOWLEDGE_KEY]
    return knowledge


def service_version() -> str:
    """The installed spine-cds release ("unknown" when run from a tree that was never installed)."""
    try:
        return version("spine-cds")
    except PackageNotFoundError:
        return "unknown"
