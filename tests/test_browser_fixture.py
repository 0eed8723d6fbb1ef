"""The browser fixture itself: Chromium loads a page from a loopback server under a strict CSP,
axe-core still runs there, and a page reaching for a CDN is caught."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fixtures.browser import OffLoopbackRequests, axe_violations, new_page

HEAD = b"""<!doctype html><html lang="en"><head><meta charset="utf-8">"""
ACCESSIBLE = (
    HEAD
    + b"""<title>Fixture page</title></head>
<body><main><h1>Fixture</h1><form><label for="q">Question</label><input id="q" name="q"></form>
</main></body></html>"""
)
UNLABELLED_INPUT = (
    HEAD
    + b"""<title>Bad page</title></head>
<body><main><h1>Bad</h1><form><input name="q"></form></main></body></html>"""
)
FROM_A_CDN = (
    HEAD
    + b"""<title>CDN page</title>
<script src="https://cdn.example.org/lib.js"></script></head><body><main><h1>CDN</h1></main></body></html>"""
)
PAGES = {"/ok": ACCESSIBLE, "/unlabelled": UNLABELLED_INPUT, "/cdn": FROM_A_CDN}


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGES.get(self.path, b"")
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if self.path != "/cdn":  # a CSP would stop the CDN script before the route sees it
            self.send_header("Content-Security-Policy", "default-src 'self'; script-src 'self'")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_axe_runs_under_a_strict_csp_and_passes_an_accessible_page(page: Any, site: str) -> None:
    page.goto(f"{site}/ok")
    assert axe_violations(page) == []


def test_axe_reports_an_unlabelled_form_field(page: Any, site: str) -> None:
    page.goto(f"{site}/unlabelled")
    every_impact = ("minor", "moderate", "serious", "critical")
    assert "label" in {v["id"] for v in axe_violations(page, impacts=every_impact)}


def test_a_page_loading_from_a_cdn_is_caught(browser: Any, site: str) -> None:
    blocked = OffLoopbackRequests()
    tab = new_page(browser, blocked)
    tab.goto(f"{site}/cdn")
    tab.context.close()
    assert blocked.urls == ["https://cdn.example.org/lib.js"]
