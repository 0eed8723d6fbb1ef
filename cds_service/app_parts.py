"""What the app is built with, as every blueprint reads it: its settings and loaded knowledge."""

from __future__ import annotations

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
