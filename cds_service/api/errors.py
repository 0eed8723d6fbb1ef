"""error handlers (being built)."""

from __future__ import annotations

from flask import Flask


def install_error_handlers(app: Flask) -> None:
    """Install error handlers on the app."""
