"""Decision and feedback log (being built)."""

from __future__ import annotations

from flask import Flask


def install_store(app: Flask) -> None:
    """Open the decision and feedback store for the app."""
