"""FHIR fallback fetch against a real FHIR server (sekmet-fhir), and against tiny fake servers for
the failures a real server will not produce on demand (slow, trickling, garbage, reset, redirect,
oversized)."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from cds_service import Settings
from cds_service.errors import Forbidden, PreconditionFailed
from cds_service.fhir.load import load_patient_record
from cds_service.fhir.queries import OBSERVATION_CODES, PREFETCH_TEMPLATES
from cds_service.fhir.record import PatientRecord
from tests.fixtures.fhir_server import BEARER_TOKEN, FhirServer, free_port

SYNTHEA = Path(__file__).resolve().parent / "data" / "synthea"
LARGEST = SYNTHEA / "Austin_Franecki_f23eef30-acb2-49da-8091-159b61dc1ed5.json"
SMALL = SYNTHEA / "Stephen_McLaughlin_7735ab79-6ac8-4b81-9936-f7ddabd18751.json"
TOKEN = "s3cr3t-access-token-never-logged"
OBSERVATION_CODE_SET = {code for _, code in OBSERVATION_CODES}


def settings_for(*servers: str, **overrides: Any) -> Settings:
    return Settings(auth="off", fhir_servers=list(servers), **overrides)


def fetch_everything(
    server: str, settings: Settings, *, patient_id: str = "p1", **kwargs: Any
) -> PatientRecord:
    """A hook call with no prefetch at all: every key comes from the FHIR server."""
    args: dict[str, Any] = {
        "context": {"patientId": patient_id, "userId": "Practitioner/gp-1"},
        "prefetch": None,
        "fhir_server": server,
        "access_token": None,
        "settings": settings,
    }
    args.update(kwargs)
    return load_patient_record(**args)


def counts_in(bundle_path: Path) -> dict[str, int]:
    resources = [e["resource"] for e in json.loads(bundle_path.read_text(encoding="utf-8"))["entry"]]
    counts: dict[str, int] = {}
    for res in resources:
        rtype = res["resourceType"]
        if rtype == "Observation":
            codes = {c.get("code") for c in res.get("code", {}).get("coding", [])}
            if not codes & OBSERVATION_CODE_SET:
                continue
        counts[rtype] = counts.get(rtype, 0) + 1
    return counts


def fetches(key: str, outcome: str) -> float:
    labels = {"key": key, "outcome": outcome}
    return REGISTRY.get_sample_value("spine_cds_fallback_fetches_total", labels) or 0.0


# --- against the real FHIR server ------------------------------------------------------------


@pytest.fixture(scope="module")
def synthea_patient(fhir_server: FhirServer) -> str:
    return fhir_server.load_transaction(SMALL)


@pytest.fixture(scope="module")
def largest_patient(fhir_server: FhirServer) -> str:
    return fhir_server.load_transaction(LARGEST)


def test_every_key_is_fetched_from_the_fhir_server_when_nothing_is_prefetched(
    fhir_server: FhirServer, synthea_patient: str
) -> None:
    before = fetches("conditions", "ok")
    record = fetch_everything(
        fhir_server.base_url, settings_for(fhir_server.base_url), patient_id=synthea_patient
    )
    expected = counts_in(SMALL)
    assert record.patient is not None and record.patient["id"] == synthea_patient
    assert len(record.of_type("Condition")) == expected["Condition"]
    assert len(record.of_type("MedicationRequest")) == expected.get("MedicationRequest", 0)
    assert len(record.of_type("Procedure")) == expected.get("Procedure", 0)
    assert len(record.of_type("Observation")) == expected["Observation"]
    assert record.unavailable == frozenset()
    assert fetches("conditions", "ok") == before + 1


def test_only_the_observations_the_rules_need_are_fetched(
    fhir_server: FhirServer, synthea_patient: str
) -> None:
    record = fetch_everything(
        fhir_server.base_url, settings_for(fhir_server.base_url), patient_id=synthea_patient
    )
    for obs in record.of_type("Observation"):
        assert {c["code"] for c in obs["code"]["coding"]} & OBSERVATION_CODE_SET


def test_prefetched_keys_are_not_refetched_and_null_is_not_refetched(
    fhir_server: FhirServer, synthea_patient: str
) -> None:
    prefetch = {"patient": {"resourceType": "Patient", "id": synthea_patient}, "procedures": None}
    record = fetch_everything(
        fhir_server.base_url,
        settings_for(fhir_server.base_url),
        patient_id=synthea_patient,
        prefetch=prefetch,
    )
    assert record.patient == {"resourceType": "Patient", "id": synthea_patient}
    assert record.of_type("Procedure") == []
    assert record.of_type("Condition")


def test_a_large_record_is_read_across_pages(fhir_server: FhirServer, largest_patient: str) -> None:
    small_pages = {k: f"{t}&_count=10" if "?" in t else t for k, t in PREFETCH_TEMPLATES.items()}
    settings = settings_for(fhir_server.base_url, fetch_max_pages=50, fetch_deadline_seconds=10)
    record = fetch_everything(
        fhir_server.base_url, settings, patient_id=largest_patient, templates=small_pages
    )
    expected = counts_in(LARGEST)
    assert len(record.of_type("MedicationRequest")) == expected["MedicationRequest"] > 10
    assert len(record.of_type("Procedure")) == expected["Procedure"] > 10
    assert record.unavailable == frozenset()


def test_a_record_longer_than_the_page_cap_says_medications_were_not_all_checked(
    fhir_server: FhirServer, largest_patient: str
) -> None:
    small_pages = {k: f"{t}&_count=10" if "?" in t else t for k, t in PREFETCH_TEMPLATES.items()}
    settings = settings_for(fhir_server.base_url, fetch_max_pages=2, fetch_deadline_seconds=10)
    record = fetch_everything(
        fhir_server.base_url, settings, patient_id=largest_patient, templates=small_pages
    )
    assert len(record.of_type("MedicationRequest")) == 20
    assert {"medications", "procedures"} <= record.unavailable


def test_the_access_token_is_forwarded_as_bearer(fhir_server_bearer: FhirServer) -> None:
    patient_id = fhir_server_bearer.load_transaction(SMALL)
    settings = settings_for(fhir_server_bearer.base_url)
    record = fetch_everything(
        fhir_server_bearer.base_url, settings, patient_id=patient_id, access_token=BEARER_TOKEN
    )
    assert record.patient is not None and record.of_type("Condition")


def test_without_the_access_token_a_protected_server_gives_a_412(fhir_server_bearer: FhirServer) -> None:
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(fhir_server_bearer.base_url, settings_for(fhir_server_bearer.base_url))
    assert "unauthorized" in (raised.value.diagnostics or "")


def test_a_fhir_server_that_is_down_gives_a_412() -> None:
    down = f"http://127.0.0.1:{free_port()}/fhir"
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(down, settings_for(down))
    assert "unreachable" in (raised.value.diagnostics or "")


def test_the_token_and_patient_id_never_reach_the_service_logs(
    fhir_server: FhirServer, synthea_patient: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        fetch_everything(
            fhir_server.base_url,
            settings_for(fhir_server.base_url),
            patient_id=synthea_patient,
            access_token=TOKEN,
        )
    assert TOKEN not in caplog.text
    service_logs = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("cds_service"))
    assert "fallback fetch" in service_logs
    assert synthea_patient not in service_logs


# --- against fake servers: failures on demand ------------------------------------------------

Handler = Callable[[BaseHTTPRequestHandler], None]


class FakeServer:
    """A throwaway HTTP server on 127.0.0.1 whose every GET runs `handle`; it records requests."""

    def __init__(self, handle: Handler) -> None:
        self.requests: list[tuple[str, str | None]] = []
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, self.headers.get("Authorization")))
                handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake() -> Iterator[Callable[[Handler], FakeServer]]:
    servers: list[FakeServer] = []

    def start(handle: Handler) -> FakeServer:
        servers.append(FakeServer(handle))
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
    fake: Callable[[Handler], FakeServer], record_property: Callable[[str, object], None]
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
    fake: Callable[[Handler], FakeServer], record_property: Callable[[str, object], None]
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


def test_a_server_trickling_bytes_is_abandoned_at_the_deadline(fake: Callable[[Handler], FakeServer]) -> None:
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
    fake: Callable[[Handler], FakeServer], reply: Handler, outcome: str
) -> None:
    server = fake(reply)
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(server.base_url, settings_for(server.base_url))
    assert outcome in (raised.value.diagnostics or "")


def test_garbage_for_optional_observations_only_says_they_were_not_checked(
    fake: Callable[[Handler], FakeServer],
) -> None:
    server = fake(lambda h: send(h, 200, b"\x00\xff garbage"))
    prefetch = {k: None for k in PREFETCH_TEMPLATES if k != "observations"}
    record = fetch_everything(server.base_url, settings_for(server.base_url), prefetch=prefetch)
    assert record.unavailable == {"observations", "patient"}


def test_a_server_not_allowlisted_gets_a_403_and_is_never_called(
    fake: Callable[[Handler], FakeServer],
) -> None:
    server = fake(empty_searchset)
    with pytest.raises(Forbidden):
        fetch_everything(server.base_url, settings_for("https://ehr.example.org/fhir"), access_token=TOKEN)
    assert server.requests == []


def test_with_no_allowlist_no_fhir_server_is_ever_called(fake: Callable[[Handler], FakeServer]) -> None:
    server = fake(empty_searchset)
    with pytest.raises(Forbidden):
        fetch_everything(server.base_url, settings_for(), access_token=TOKEN)
    assert server.requests == []


def test_plain_http_to_a_non_loopback_server_is_refused() -> None:
    with pytest.raises(Forbidden) as raised:
        fetch_everything("http://fhir.example.test/fhir", settings_for("http://fhir.example.test/fhir"))
    assert raised.value.status == 403


def test_a_redirect_to_another_host_is_not_followed_and_gets_no_token(
    fake: Callable[[Handler], FakeServer],
) -> None:
    elsewhere = fake(empty_searchset)
    server = fake(lambda h: send(h, 302, b"", Location=f"{elsewhere.base_url}{h.path[len('/fhir') :]}"))
    with pytest.raises(PreconditionFailed) as raised:
        fetch_everything(server.base_url, settings_for(server.base_url), access_token=TOKEN)
    assert "redirect-refused" in (raised.value.diagnostics or "")
    assert elsewhere.requests == []


def test_a_next_link_to_another_host_is_not_followed_and_gets_no_token(
    fake: Callable[[Handler], FakeServer],
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
def test_an_oversized_response_is_capped(fake: Callable[[Handler], FakeServer], declared: bool) -> None:
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
