"""The dashboard's own session cookie, kept apart from any other page's.

Flask has one session interface per app, and other web pages of the service (the red-flag check)
configure the app's session cookie for their own needs. Under /dashboard this interface uses its
own cookie instead: named `spine_cds_dashboard`, sent only to /dashboard, HttpOnly,
SameSite=Strict, Secure behind an https public URL, and refused by the signature check once older
than the dashboard's session length. Elsewhere it is Flask's default, unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Request, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature

COOKIE_NAME = "spine_cds_dashboard"
COOKIE_PATH = "/dashboard"


def is_dashboard_path(path: str) -> bool:
    """True for /dashboard and everything under it."""
    return path == COOKIE_PATH or path.startswith(COOKIE_PATH + "/")


class DashboardSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the dashboard's own cookie under /dashboard."""

    def __init__(self, lifetime: timedelta, secure: bool) -> None:
        self.lifetime = lifetime
        self.secure = secure

    @staticmethod
    def _here() -> bool:
        return has_request_context() and is_dashboard_path(request.path)

    def get_cookie_name(self, app: Flask) -> str:
        """The dashboard's cookie name under /dashboard."""
        return COOKIE_NAME if self._here() else super().get_cookie_name(app)

    def get_cookie_path(self, app: Flask) -> str:
        """/dashboard under /dashboard: the browser never sends the cookie anywhere else."""
        return COOKIE_PATH if self._here() else super().get_cookie_path(app)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        """Strict under /dashboard."""
        return "Strict" if self._here() else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure under /dashboard when the public URL is https."""
        return self.secure if self._here() else super().get_cookie_secure(app)

    def get_cookie_httponly(self, app: Flask) -> bool:
        """Always HttpOnly under /dashboard."""
        return True if self._here() else super().get_cookie_httponly(app)

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        """The dashboard session's end, from now."""
        if self._here():
            return datetime.now(UTC) + self.lifetime if session.permanent else None
        return super().get_expiration_time(app, session)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Under /dashboard: the cookie's data if its signature is good and it is not too old."""
        if not is_dashboard_path(request.path):
            return super().open_session(app, request)
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(COOKIE_NAME)
        if not value:
            return self.session_class()
        try:
            data: Any = serializer.loads(value, max_age=int(self.lifetime.total_seconds()))
        except BadSignature:
            return self.session_class()
        return self.session_class(data)
