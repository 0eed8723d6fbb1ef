"""client authentication (JWT) (being built)."""

from __future__ import annotations

from flask import Flask


def install_auth(app: Flask) -> None:
    """Install client authentication (JWT) on the app."""
