"""FHIR fallback fetch against tiny fake servers, for what a real server will not do on demand:
slow, trickling, errors, garbage, resets, redirects, foreign paging links, oversized answers; and
the allowlist that keeps the service from calling servers it was not configured for."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cds_service.errors import Forbidden, PreconditionFailed
from cds_service.fhir.queries import PREFETCH_TEMPLATES
from tests.fhir_calls import TOKEN, fetch_everything, settings_for

Handler = Callable[[BaseHTTPRequestHandler], None]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up on a slow or oversized answer is the point of these tests


class FakeServer:
    """A throwaway HTTP server on 127.0.0.1 whose every GET runs `handle`; it records requests."""

    def __init__(self, handle: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[tuple[str, str | None]] = []
        self.cookies: list[str | None] = []
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, self.headers.get("Authorization")))
                outer.cookies.append(self.headers.get("Cookie"))
                handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake() -> Iterator[Callable[..., FakeServer]]:
    servers: list[FakeServer] = []

    def start(handle: Handler, tls: ssl.SSLContext | None = None) -> FakeServer:
        servers.append(FakeServer(handle, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def empty_searchset(handler: BaseHTTPRequestHandler) -> None:
    resource = {"resourceType": "Patient", "id": "p1"} if "/Patient/" in handler.path else None
    body = resource or {"resourceType": "Bundle", "type": "searchset", "entry": []}
    send(handler, 200, json.dumps(body).encode(), Content_Type="application/fhir+json")


def test_keys_are_fetched_concurrently_under_one_deadline(
    fake: Callable[..., FakeServer], record_property: Callable[[str, object], None]
) -> None:
    def slowish(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.4)
        empty_searchset(handler)

    server = fake(slowish)
    # Six keys at 0.4 s each: one after another they need 2.4 s, over the 1.5 s deadline.
    settings = settings_for(server.base_url, fetch_deadline_seconds=1.5, fetch_timeout_seconds=1.5)
    started = time.monotonic()
    record = fetch_everything(server.base_url, settings)
    record_property("wall_seconds", round(time.monotonic() - started, 3))
    assert len(server.requests) == len(PREFETCH_TEMPLATES)
    assert record.unavailable == frozenset()


def test_a_slow_server_is_abandoned_at_the_deadline(
    fake: Callable[..., FakeServer], record_property: Callable[[str, object], None]
) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(3)
        empty_searchset(handler)

    server = fake(slow)
    settings = settings_for(server.base_url, fetch_deadline_seconds=0.3, fetch_timeout_seconds=10)
    started = time.monotonic()
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(server.base_url, settings)
    record_property("wall_seconds", round(time.monotonic() - started, 3))
    assert "timeout" in (raised.value.diagnostics or "")


def test_a_server_trickling_bytes_is_abandoned_at_the_deadline(fake: Callable[..., FakeServer]) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/fhir+json")
        handler.end_headers()
        with contextlib.suppress(OSError):
            for byte in b'{"resourceType": "Bundle", "entry": []}' + b" " * 100:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(0.05)

    server = fake(trickle)
    settings = settings_for(server.base_url, fetch_deadline_seconds=0.5, fetch_timeout_seconds=0.5)
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(server.base_url, settings)
    assert "timeout" in (raised.value.diagnostics or "")


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (lambda h: send(h, 500, b'{"resourceType": "OperationOutcome"}'), "http-error"),
        (lambda h: send(h, 200, b"<html>not FHIR</html>"), "garbage"),
        (lambda h: send(h, 200, b'["a", "list"]'), "garbage"),
        (lambda h: send(h, 200, b'{"resourceType": "OperationOutcome", "issue": []}'), "operation-outcome"),
        (
            lambda h: h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0"),
            "unreachable",
        ),
    ],
    ids=["server-error", "html", "json-not-a-resource", "operation-outcome", "connection-reset"],
)
def test_a_server_returning_errors_or_garbage_gives_a_412(
    fake: Callable[..., FakeServer], reply: Handler, outcome: str
) -> None:
    server = fake(reply)
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(server.base_url, settings_for(server.base_url))
    assert outcome in (raised.value.diagnostics or "")


def test_garbage_for_optional_observations_only_says_they_were_not_checked(
    fake: Callable[..., FakeServer],
) -> None:
    server = fake(lambda h: send(h, 200, b"\x00\xff garbage"))
    prefetch = {k: None for k in PREFETCH_TEMPLATES if k != "observations"}
    record = fetch_everything(server.base_url, settings_for(server.base_url), prefetch=prefetch)
    assert record.unavailable == {"observations", "patient"}


def test_a_server_not_allowlisted_gets_a_403_and_is_never_called(
    fake: Callable[..., FakeServer],
) -> None:
    server = fake(empty_searchset)
    with pytest.raises(Forbidden):
        fetch_everything(server.base_url, settings_for("https://ehr.example.org/fhir"), access_token=TOKEN)
    assert server.requests == []


def test_with_no_allowlist_no_fhir_server_is_ever_called(fake: Callable[..., FakeServer]) -> None:
    server = fake(empty_searchset)
    with pytest.raises(Forbidden):
        fetch_everything(server.base_url, settings_for(), access_token=TOKEN)
    assert server.requests == []


def test_plain_http_to_a_non_loopback_server_is_refused() -> None:
    with pytest.raises(Forbidden) as raised:
        fetch_everything("http://fhir.example.test/fhir", settings_for("http://fhir.example.test/fhir"))
    assert raised.value.status == 403


def test_a_redirect_to_another_host_is_not_followed_and_gets_no_token(
    fake: Callable[..., FakeServer],
) -> None:
    elsewhere = fake(empty_searchset)
    server = fake(lambda h: send(h, 302, b"", Location=f"{elsewhere.base_url}{h.path[len('/fhir') :]}"))
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(server.base_url, settings_for(server.base_url), access_token=TOKEN)
    assert "redirect-refused" in (raised.value.diagnostics or "")
    assert elsewhere.requests == []


def test_a_next_link_to_another_host_is_not_followed_and_gets_no_token(
    fake: Callable[..., FakeServer],
) -> None:
    elsewhere = fake(empty_searchset)

    def paged(handler: BaseHTTPRequestHandler) -> None:
        if "/Patient/" in handler.path:
            return empty_searchset(handler)
        body = {
            "resourceType": "Bundle",
            "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}}],
            "link": [{"relation": "next", "url": f"{elsewhere.base_url}/Condition?page=2"}],
        }
        return send(handler, 200, json.dumps(body).encode())

    server = fake(paged)
    record = fetch_everything(server.base_url, settings_for(server.base_url), access_token=TOKEN)
    assert elsewhere.requests == []
    assert all(auth == f"Bearer {TOKEN}" for _, auth in server.requests)
    assert "conditions" in record.unavailable  # only the first page could be read


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_oversized_response_is_capped(fake: Callable[..., FakeServer], declared: bool) -> None:
    big = json.dumps({"resourceType": "Bundle", "entry": [], "padding": "x" * 2_000_000}).encode()

    def oversized(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        if declared:
            handler.send_header("Content-Length", str(len(big)))
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(big)
        handler.close_connection = True

    server = fake(oversized)
    settings = settings_for(server.base_url, fetch_max_response_bytes=100_000)
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(server.base_url, settings)
    assert "too-large" in (raised.value.diagnostics or "")


def test_a_search_the_server_cannot_answer_is_not_taken_for_no_medications(
    fake: Callable[..., FakeServer],
) -> None:
    def no_statements(handler: BaseHTTPRequestHandler) -> None:
        if handler.path.startswith("/fhir/MedicationStatement"):
            return send(handler, 404, b'{"resourceType": "OperationOutcome", "issue": []}')
        return empty_searchset(handler)

    server = fake(no_statements)
    record = fetch_everything(server.base_url, settings_for(server.base_url))
    assert record.unavailable == {"medications"}


def test_conditions_read_before_a_later_page_failed_still_count_but_are_flagged_incomplete(
    fake: Callable[..., FakeServer],
) -> None:
    def second_page_fails(handler: BaseHTTPRequestHandler) -> None:
        if "page=2" in handler.path:
            return send(handler, 500, b"")
        if handler.path.startswith("/fhir/Condition"):
            body = {
                "resourceType": "Bundle",
                "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}}],
                "link": [{"relation": "next", "url": f"{server.base_url}/Condition?patient=p1&page=2"}],
            }
            return send(handler, 200, json.dumps(body).encode())
        return empty_searchset(handler)

    server = fake(second_page_fails)
    record = fetch_everything(server.base_url, settings_for(server.base_url))
    assert [c["id"] for c in record.of_type("Condition")] == ["c1"]
    assert record.unavailable == {"conditions"}


def test_nothing_from_one_hook_call_reaches_the_next_one_on_a_reused_connection(
    fake: Callable[..., FakeServer],
) -> None:
    def sets_a_cookie(handler: BaseHTTPRequestHandler) -> None:
        body = json.dumps({"resourceType": "Bundle", "entry": []}).encode()
        send(handler, 200, body, Set_Cookie="sid=user-1")

    server = fake(sets_a_cookie)
    settings = settings_for(server.base_url)
    prefetch = {k: None for k in PREFETCH_TEMPLATES if k != "conditions"}
    fetch_everything(server.base_url, settings, prefetch=prefetch, access_token=TOKEN)
    fetch_everything(server.base_url, settings, prefetch=prefetch, access_token=None)
    assert [auth for _, auth in server.requests] == [f"Bearer {TOKEN}", None]
    assert server.cookies == [None, None]


LOOPBACK = ipaddress.ip_address("127.0.0.1")


# Six TLS handshakes with a one-thread test server can outlast the default deadline on a loaded
# machine; these tests are about certificates, not time, so they give the handshakes room.
TLS_TIME = {"fetch_deadline_seconds": 10.0, "fetch_timeout_seconds": 5.0}


def self_signed_tls(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 that signs itself (the CA file to trust), and a server context."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test FHIR server")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fhir.pem", directory / "fhir.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return cert_path, context


def test_an_https_server_whose_certificate_is_not_trusted_gives_a_412(
    fake: Callable[..., FakeServer], tmp_path: Path
) -> None:
    _, tls = self_signed_tls(tmp_path)
    server = fake(empty_searchset, tls)
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(server.base_url, settings_for(server.base_url, **TLS_TIME), access_token=TOKEN)
    assert "tls-error" in (raised.value.diagnostics or "")
    assert server.requests == []  # the token never left the handshake


def test_an_https_server_signed_by_the_configured_ca_bundle_is_read(
    fake: Callable[..., FakeServer], tmp_path: Path
) -> None:
    ca_file, tls = self_signed_tls(tmp_path)
    server = fake(empty_searchset, tls)
    settings = settings_for(server.base_url, fetch_ca_bundle=str(ca_file), **TLS_TIME)
    record = fetch_everything(server.base_url, settings, access_token=TOKEN)
    assert record.patient == {"resourceType": "Patient", "id": "p1"}
    assert {auth for _, auth in server.requests} == {f"Bearer {TOKEN}"}
