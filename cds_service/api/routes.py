"""discovery, hook and feedback routes (being built)."""

from __future__ import annotations

from flask import Flask


def install_routes(app: Flask) -> None:
    """Install discovery, hook and feedback routes on the app."""
