"""observability (being built)."""

from __future__ import annotations

from flask import Flask


def install_observability(app: Flask) -> None:
    """Install observability on the app."""
