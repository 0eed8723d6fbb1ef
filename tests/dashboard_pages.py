"""Helpers for the dashboard tests: a users file, signing in through the form, reading the page."""

from __future__ import annotations

import re
from pathlib import Path

from flask.testing import FlaskClient

from cds_service.dashboard.users import UsersFile

USER, PASSWORD = "clinical-lead", "a long pass phrase 42"
TOTALS = ("total-decisions", "total-shown", "total-accepted", "total-overridden", "total-no-feedback")


def users_file(tmp_path: Path) -> str:
    """A users file holding the clinical lead."""
    path = tmp_path / "dashboard-users.json"
    UsersFile(path).add(USER, PASSWORD)
    return str(path)


def csrf_token(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: FlaskClient, password: str = PASSWORD, user: str = USER) -> int:
    """Sign in through the form as a browser would; the status of the form's POST."""
    token = csrf_token(client.get("/dashboard/login").text)
    response = client.post(
        "/dashboard/login", data={"username": user, "password": password, "csrf_token": token}
    )
    return response.status_code


def figure(html: str, element_id: str) -> str:
    """The text of the summary figure with this id."""
    found = re.search(rf'<dd id="{element_id}">([^<]*)</dd>', html)
    assert found, f"no figure {element_id} on the page"
    return found.group(1)


def totals(html: str) -> tuple[int, ...]:
    """Orders, cards shown, accepted, overridden, without feedback, as the page shows them."""
    return tuple(int(figure(html, name)) for name in TOTALS)
