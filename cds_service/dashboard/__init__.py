"""The clinical lead's dashboard: /dashboard, behind its own sign-in (see docs/dashboard.md)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from flask import Flask

from cds_service.app_parts import settings_of
from cds_service.dashboard.session import DashboardSessions
from cds_service.dashboard.signin import USERS_KEY, FailedSignIns
from cds_service.dashboard.tariff import load_tariff
from cds_service.dashboard.users import UsersFile
from cds_service.dashboard.views import FAILURES_KEY, TARIFF_KEY, dashboard

log = logging.getLogger(__name__)


def install_dashboard(app: Flask) -> None:
    """Register /dashboard when SPINE_CDS_DASHBOARD_USERS names a users file; otherwise it is off."""
    settings = settings_of(app)
    if not settings.dashboard_users:
        return
    users = UsersFile(Path(settings.dashboard_users))
    if not users.hashes():
        log.warning(
            "dashboard users file %s has no users yet: add one with `spine-cds users add NAME`",
            users.path,
        )
    app.extensions[USERS_KEY] = users
    app.extensions[TARIFF_KEY] = load_tariff(settings.tariff_file)
    app.extensions[FAILURES_KEY] = FailedSignIns()
    app.session_interface = DashboardSessions(
        lifetime=timedelta(minutes=settings.dashboard_session_minutes),
        secure=settings.public_url.lower().startswith("https://"),
    )
    app.register_blueprint(dashboard)
