"""Who may see the dashboard: the sign-in form, the signed session cookie and its expiry.

The session is a signed cookie (itsdangerous, keyed by SPINE_CDS_SECRET_KEY; see session.py)
holding the user name, a stamp of their password hash and when they signed in; it is HttpOnly,
SameSite=Strict, Secure behind an https public URL, sent only to /dashboard, and refused once older
than SPINE_CDS_DASHBOARD_SESSION_MINUTES. Forms carry flask-wtf CSRF tokens. Failed sign-ins are
limited per address and per user name, and every attempt is logged without its password.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, redirect, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from cds_service.dashboard.session import DashboardSessions
from cds_service.dashboard.users import UsersFile, UsersFileError

log = logging.getLogger("cds_service.dashboard")

USERS_KEY = "spine_cds.dashboard_users"
MAX_FAILURES = 5  # per address and per user name ...
FAILURE_WINDOW_SECONDS = 15 * 60  # ... within this window

View = TypeVar("View", bound=Callable[..., Any])


class SignInForm(FlaskForm):
    """User name and password (with flask-wtf's CSRF token)."""

    username = StringField("User name", validators=[InputRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)])


class SignOutForm(FlaskForm):
    """Only the CSRF token: signing out is a POST from the service's own page."""


class FailedSignIns:
    """Recent failed sign-ins per key (address or user name), in this process."""

    def __init__(self, limit: int = MAX_FAILURES, window_seconds: float = FAILURE_WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds until any of the keys may try again; 0 when none is blocked."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                if len(recent) >= self.limit:
                    wait = max(wait, recent[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def record(self, *keys: str) -> None:
        """Count one failure against each key."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def clear(self, *keys: str) -> None:
        """Forget the failures of the keys (after a successful sign-in)."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.setdefault(key, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent


def users_file() -> UsersFile:
    """The app's users file (SPINE_CDS_DASHBOARD_USERS)."""
    users: UsersFile = current_app.extensions[USERS_KEY]
    return users


def signed_in_user() -> str | None:
    """The user of a valid, unexpired session whose password has not changed since; else None."""
    name, signed_in_at, stamp = session.get("user"), session.get("since"), session.get("stamp")
    if not isinstance(name, str) or not isinstance(signed_in_at, int | float) or not isinstance(stamp, str):
        return None
    sessions: DashboardSessions = current_app.session_interface  # type: ignore[assignment]
    lifetime = sessions.lifetime.total_seconds()
    if not 0 <= time.time() - signed_in_at <= lifetime:
        return None
    try:
        current = users_file().current_stamp(name)
    except UsersFileError:
        log.exception("dashboard users file unreadable; nobody is signed in")
        return None
    return name if current == stamp else None


def start_session(name: str, stamp: str) -> None:
    """A fresh session for the user (nothing kept from before: no session fixation)."""
    session.clear()
    session.permanent = True
    session.update(user=name, since=int(time.time()), stamp=stamp)


def sign_in_required(view: View) -> View:
    """Redirect to the sign-in page unless a valid session comes with the request."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if signed_in_user() is None:
            session.clear()
            return redirect(url_for("dashboard.sign_in"), code=303)
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def client_address() -> str:
    """The caller's address as the WSGI server saw it (behind a proxy: configure ProxyFix)."""
    return request.remote_addr or "unknown"
