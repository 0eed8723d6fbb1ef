"""CORS (being built)."""

from __future__ import annotations

from flask import Flask


def install_cors(app: Flask) -> None:
    """Install CORS on the app."""
