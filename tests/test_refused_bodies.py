"""A client that writes its whole oversized body before reading still reads the refusal.

Python's http.client (and many Java and .NET clients) sends the body in full and only then reads the
answer; curl stops sending as soon as it sees the 413. Against the real server (`spine-cds serve`,
gunicorn), both must read the 413 and its OperationOutcome, not a connection reset.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.hook_requests import MRI_LUMBAR, SELECT_URL, hook_call, service_request
from tests.servers import RunningServer, spine_cds_serve

BODY_LIMIT = 16_000_000  # the default SPINE_CDS_MAX_BODY_BYTES
OVERSIZED = 30_000_000


def oversized_hook_call() -> bytes:
    """A well-formed hook call padded to 30 MB: refused for its size alone."""
    body = hook_call([service_request(MRI_LUMBAR)])
    body["context"]["padding"] = "x" * OVERSIZED
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with spine_cds_serve(tmp_path_factory.mktemp("served"), {"SPINE_CDS_AUTH": "off"}) as server:
        yield server


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # Authentication on and no trusted issuer: every call is refused with 401 before its body is read.
    with spine_cds_serve(tmp_path_factory.mktemp("guarded"), {"SPINE_CDS_AUTH": "on"}) as server:
        yield server


def post_whole_body_first(server: RunningServer, path: str, body: bytes, **headers: str) -> Any:
    """http.client: headers and the whole body are written, then the answer is read."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())
    finally:
        connection.close()


def assert_refusal(answer: Any, status: int) -> None:
    got, content_type, body = answer
    assert got == status
    assert content_type == "application/fhir+json"
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["details"]["text"]


def test_a_30_mb_hook_call_from_http_client_reads_the_413(served: RunningServer) -> None:
    answer = post_whole_body_first(served, SELECT_URL, oversized_hook_call())
    assert_refusal(answer, 413)
    assert str(BODY_LIMIT) in answer[2]["issue"][0]["details"]["text"]


def test_a_30_mb_feedback_from_http_client_reads_the_413(served: RunningServer) -> None:
    body = json.dumps({"feedback": [], "padding": "x" * OVERSIZED}).encode()
    assert_refusal(post_whole_body_first(served, SELECT_URL + "/feedback", body), 413)


def test_a_raw_socket_that_sends_everything_then_reads_gets_the_413(served: RunningServer) -> None:
    address = urlsplit(served.url)
    body = oversized_hook_call()
    head = (
        f"POST {SELECT_URL} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port), timeout=60) as sock:
        sock.sendall(head + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    assert status_line.split()[1] == b"413"
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["resourceType"] == "OperationOutcome"


def test_a_chunked_body_over_the_limit_reads_the_413(served: RunningServer) -> None:
    pieces = [b'{"hook": "order-select", "pad": "', *([b"x" * 1_000_000] * 20), b'"}']
    address = urlsplit(served.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request(
            "POST",
            SELECT_URL,
            body=iter(pieces),
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["resourceType"] == "OperationOutcome"
    finally:
        connection.close()


def test_a_30_mb_body_refused_by_authentication_still_reads_the_401(guarded: RunningServer) -> None:
    assert_refusal(post_whole_body_first(guarded, SELECT_URL, oversized_hook_call()), 401)


def test_after_a_refusal_the_server_answers_the_next_call(served: RunningServer) -> None:
    post_whole_body_first(served, SELECT_URL, oversized_hook_call())
    small = json.dumps(hook_call([service_request(MRI_LUMBAR)])).encode()
    status, _, body = post_whole_body_first(served, SELECT_URL, small)
    assert status == 200
    assert "cards" in body
