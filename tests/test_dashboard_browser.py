"""The dashboard in Chromium against `spine-cds serve`, over a log filled by real HTTP calls."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.dashboard_log import ExpectedFigures, fill_log
from tests.dashboard_pages import PASSWORD, TOTALS, USER, users_file
from tests.fixtures import unavailable
from tests.fixtures.browser import axe_violations, save_screenshot
from tests.servers import ServerDidNotStart, spine_cds_serve


@dataclass
class Served:
    """The running service and what its log should show."""

    url: str
    expected: ExpectedFigures


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`spine-cds serve` (2 workers) with the dashboard on; every sample and its feedback sent over HTTP."""
    workdir = tmp_path_factory.mktemp("dashboard")
    env = {
        "SPINE_CDS_AUTH": "off",
        "SPINE_CDS_DASHBOARD_USERS": users_file(workdir),
        "SPINE_CDS_SECRET_KEY": "browser-test-secret",  # both workers must share it
    }
    try:
        with spine_cds_serve(workdir, env) as server:
            session = requests.Session()

            def post(path: str, body: dict[str, Any]) -> tuple[int, Any]:
                response = session.post(server.url + path, json=body, timeout=30)
                return response.status_code, response.json()

            yield Served(server.url, fill_log(post))
    except ServerDidNotStart as error:
        unavailable(str(error))


def _sign_in(page: Any, url: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/dashboard")
    page.fill("#username", USER)
    page.fill("#password", password)
    page.click("button[type=submit]")


def _totals(page: Any) -> tuple[int, ...]:
    return tuple(int(page.text_content(f"#{name}")) for name in TOTALS)


def test_lead_signs_in_sees_the_calls_made_filters_downloads_and_signs_out(page: Any, served: Served) -> None:
    expected = served.expected
    page.goto(f"{served.url}/dashboard/export.csv")
    assert page.url.endswith("/dashboard/login")  # no session: the sign-in page, not the data
    _sign_in(page, served.url)
    page.wait_for_selector("#total-decisions")
    assert _totals(page) == (
        expected.decisions,
        expected.cards,
        expected.accepted,
        expected.overridden,
        expected.no_feedback,
    )
    for consult in expected.watched_consults:
        assert page.locator("#watch-table").get_by_text(consult).count() == 1
    page.set_viewport_size({"width": 1366, "height": 768})
    save_screenshot(page, "dashboard")
    assert axe_violations(page) == []

    with page.expect_download() as download_info:
        page.click("text=Download CSV")
    csv_path = Path(download_info.value.path())
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert len(rows) == expected.decisions

    last_year = (datetime.now(UTC) - timedelta(days=400)).date()
    page.fill("#from", str(last_year - timedelta(days=30)))
    page.fill("#to", str(last_year))
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#total-decisions")
    assert _totals(page) == (0, 0, 0, 0, 0)
    assert page.text_content("#watch-empty") == "None in this range."
    with page.expect_download() as download_info:
        page.click("text=Download CSV")
    assert len(Path(download_info.value.path()).read_text(encoding="utf-8").splitlines()) == 1

    page.click("text=Sign out")
    page.wait_for_selector("text=You have signed out.")
    page.goto(f"{served.url}/dashboard")
    assert page.url.endswith("/dashboard/login")
    assert page.locator("#total-decisions").count() == 0


def test_wrong_password_shows_a_clear_message_and_no_figures(page: Any, served: Served) -> None:
    _sign_in(page, served.url, password="not the password at all")
    assert page.get_by_role("alert").text_content() == "The user name or password is wrong."
    assert page.locator("#total-decisions").count() == 0
    save_screenshot(page, "dashboard-sign-in-refused")
    assert axe_violations(page) == []


def test_sign_in_works_without_javascript(page_without_javascript: Any, served: Served) -> None:
    _sign_in(page_without_javascript, served.url)
    page_without_javascript.wait_for_selector("#total-decisions")
    assert int(page_without_javascript.text_content("#total-decisions")) == served.expected.decisions


def test_the_print_view_fits_a_page_width_and_keeps_the_watch_list(page: Any, served: Served) -> None:
    _sign_in(page, served.url)
    page.wait_for_selector("#total-decisions")
    page.goto(f"{served.url}/dashboard/print")
    page.emulate_media(media="print")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]
    assert page.locator("#watch-table").is_visible()
    assert page.locator("form").count() == 0
    save_screenshot(page, "dashboard-print")
