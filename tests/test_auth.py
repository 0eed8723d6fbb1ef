"""Who can call the service: only CDS clients holding a trusted issuer's key, once per token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from flask.testing import FlaskClient

from cds_service import Settings, create_app
from cds_service.api.issuers import load_trusted_issuers
from cds_service.api.replay import JtiCache, ReplayCacheFull
from cds_service.metrics import AUTH_FAILURES
from tests.client_keys import ClientKey

PUBLIC_URL = "https://cds.example.org/spine"
ISS = "https://ehr.example.org"
TENANT_ISS = "https://multi-tenant-ehr.example.org"
DISCOVERY = "/cds-services"
SERVICE = "/cds-services/spinal-imaging-order-select"
FEEDBACK = "/cds-services/spinal-imaging-order-select/feedback"
REPO = Path(__file__).resolve().parent.parent


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


def valid_claims(aud: str) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISS, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}


@pytest.fixture(scope="module")
def es384() -> ClientKey:
    return ClientKey("ES384", "ehr-ec-1")


@pytest.fixture(scope="module")
def rs384() -> ClientKey:
    return ClientKey("RS384", "ehr-rsa-1")


def write_issuers(tmp_path: Path, issuers: dict[str, Any]) -> str:
    path = tmp_path / "trusted-issuers.json"
    path.write_text(json.dumps(issuers))
    return str(path)


def auth_settings(tmp_path: Path, issuers: dict[str, Any], **overrides: Any) -> Settings:
    return Settings(
        auth="on",
        public_url=PUBLIC_URL,
        trusted_issuers=write_issuers(tmp_path, issuers),
        database_url=f"sqlite:///{tmp_path / 'spine-cds.sqlite'}",
        **overrides,
    )


@pytest.fixture
def client(tmp_path: Path, es384: ClientKey, rs384: ClientKey) -> FlaskClient:
    issuers = {
        ISS: {"jwks": {"keys": [es384.jwk, rs384.jwk]}},
        TENANT_ISS: {"jwks": {"keys": [es384.jwk]}, "tenants": ["practice-a"]},
    }
    return create_app(auth_settings(tmp_path, issuers)).test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def failures(reason: str) -> float:
    return AUTH_FAILURES.labels(reason=reason)._value.get()


HOOK_BODY = {
    "hook": "order-select",
    "hookInstance": str(uuid.uuid4()),
    "context": {"userId": "Practitioner/1", "patientId": "1", "selections": [], "draftOrders": {}},
}
FEEDBACK_BODY = {
    "feedback": [
        {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-02T10:15:00Z"}
    ]
}


# --- accepted ------------------------------------------------------------------------------


def test_ehr_with_es384_key_discovers_the_services(client: FlaskClient, es384: ClientKey) -> None:
    response = client.get(DISCOVERY, headers=bearer(es384.token(PUBLIC_URL + DISCOVERY)))
    assert response.status_code == 200
    assert [s["id"] for s in response.get_json()["services"]] == [
        "spinal-imaging-order-select",
        "spinal-imaging-order-sign",
    ]


def test_ehr_with_rs384_key_calls_a_hook_service(client: FlaskClient, rs384: ClientKey) -> None:
    response = client.post(SERVICE, json=HOOK_BODY, headers=bearer(rs384.token(PUBLIC_URL + SERVICE)))
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}  # nothing selected: nothing to advise on


def test_feedback_is_accepted_with_a_token_for_the_feedback_url(
    client: FlaskClient, es384: ClientKey
) -> None:
    response = client.post(FEEDBACK, json=FEEDBACK_BODY, headers=bearer(es384.token(PUBLIC_URL + FEEDBACK)))
    assert response.status_code == 200
    assert response.get_json() == {}


def test_audience_may_be_a_list_naming_the_url_called(client: FlaskClient, es384: ClientKey) -> None:
    token = es384.token([PUBLIC_URL + "/elsewhere", PUBLIC_URL + DISCOVERY])
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200


def test_sandbox_iat_rounded_into_the_future_is_within_leeway(client: FlaskClient, es384: ClientKey) -> None:
    now = int(time.time())
    token = es384.token(PUBLIC_URL + DISCOVERY, iat=now + 1, exp=now + 301)
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200


def test_allowed_tenant_is_accepted(client: FlaskClient, es384: ClientKey) -> None:
    token = es384.token(PUBLIC_URL + DISCOVERY, iss=TENANT_ISS, tenant="practice-a")
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200


# --- refused ------------------------------------------------------------------------------


def refused(client: FlaskClient, token: str | None, path: str = DISCOVERY, reason: str | None = None) -> None:
    """Assert a bare 401, counted under `reason` when given."""
    before = failures(reason) if reason else 0.0
    headers = bearer(token) if token is not None else {}
    response = (
        client.get(path, headers=headers)
        if path == DISCOVERY
        else client.post(path, json={}, headers=headers)
    )
    assert response.status_code == 401
    # A bare 401: no reason for the caller, at most a generic OperationOutcome.
    body = response.get_data(as_text=True)
    assert "expired" not in body and "signature" not in body and "audience" not in body
    assert response.headers["WWW-Authenticate"] == "Bearer"
    if reason:
        assert failures(reason) == before + 1


def test_no_token_is_refused(client: FlaskClient) -> None:
    for path in (DISCOVERY, SERVICE, FEEDBACK):
        refused(client, None, path)


def test_basic_credentials_are_refused(client: FlaskClient) -> None:
    response = client.get(DISCOVERY, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401


def test_garbage_token_is_refused(client: FlaskClient) -> None:
    refused(client, "not.a.jwt", reason="malformed-token")


def test_forged_signature_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    forger = ClientKey("ES384", es384.kid)  # same kid, different private key
    refused(client, forger.token(PUBLIC_URL + DISCOVERY), reason="bad-signature")


def test_expired_token_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    now = int(time.time())
    refused(client, es384.token(PUBLIC_URL + DISCOVERY, iat=now - 600, exp=now - 120), reason="expired")


def test_token_issued_in_the_future_beyond_leeway_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    now = int(time.time())
    refused(client, es384.token(PUBLIC_URL + DISCOVERY, iat=now + 120, exp=now + 400), reason="not-yet-valid")


def test_token_not_yet_valid_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    refused(client, es384.token(PUBLIC_URL + DISCOVERY, nbf=int(time.time()) + 120), reason="not-yet-valid")


def test_token_living_for_days_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    refused(
        client,
        es384.token(PUBLIC_URL + DISCOVERY, exp=int(time.time()) + 3 * 86400),
        reason="lifetime-too-long",
    )


def test_replayed_token_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    token = es384.token(PUBLIC_URL + DISCOVERY)
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200
    before = failures("replayed-jti")
    refused(client, token)
    assert failures("replayed-jti") == before + 1


def test_refused_token_does_not_use_up_its_jti(client: FlaskClient, es384: ClientKey) -> None:
    jti = str(uuid.uuid4())
    refused(client, es384.token(PUBLIC_URL + SERVICE, jti=jti))  # wrong audience
    assert (
        client.get(DISCOVERY, headers=bearer(es384.token(PUBLIC_URL + DISCOVERY, jti=jti))).status_code == 200
    )


def test_discovery_token_used_on_a_service_url_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    before = failures("wrong-audience")
    refused(client, es384.token(PUBLIC_URL + DISCOVERY), SERVICE)
    assert failures("wrong-audience") == before + 1


def test_service_token_used_on_feedback_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    refused(client, es384.token(PUBLIC_URL + SERVICE), FEEDBACK)


def test_token_for_another_host_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    refused(client, es384.token("https://evil.example.org/spine" + DISCOVERY))


@pytest.mark.parametrize("missing", ["jti", "exp", "iat", "aud"])
def test_token_without_a_required_claim_is_refused(
    client: FlaskClient, es384: ClientKey, missing: str
) -> None:
    if missing == "aud":
        refused(client, es384.token(None))
    else:
        refused(client, es384.token(PUBLIC_URL + DISCOVERY, **{missing: None}))


def test_unknown_issuer_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    refused(
        client,
        es384.token(PUBLIC_URL + DISCOVERY, iss="https://stranger.example.org"),
        reason="unknown-issuer",
    )


@pytest.mark.parametrize("tenant", ["practice-b", None])
def test_tenant_not_allowed_is_refused(client: FlaskClient, es384: ClientKey, tenant: str | None) -> None:
    refused(
        client,
        es384.token(PUBLIC_URL + DISCOVERY, iss=TENANT_ISS, tenant=tenant),
        reason="tenant-not-allowed",
    )


def test_alg_none_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": es384.kid}
    before = failures("algorithm-not-allowed")
    refused(client, unsigned_token(header, valid_claims(PUBLIC_URL + DISCOVERY)))
    assert failures("algorithm-not-allowed") == before + 1


def test_hs256_signed_with_the_public_key_as_secret_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    secret = es384.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": es384.kid}
    signing_input = (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps(valid_claims(PUBLIC_URL + DISCOVERY)).encode())}"
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    refused(client, f"{signing_input}.{b64(signature)}", reason="algorithm-not-allowed")


def test_es256_header_on_a_p384_key_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    confused = ClientKey("ES256", es384.kid)
    refused(client, confused.token(PUBLIC_URL + DISCOVERY), reason="algorithm-not-allowed")


def test_token_without_kid_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    before = failures("missing-kid")
    refused(client, es384.token(PUBLIC_URL + DISCOVERY, header={"kid": None}))
    assert failures("missing-kid") == before + 1


def test_token_with_unknown_kid_is_refused(client: FlaskClient) -> None:
    refused(client, ClientKey("ES384", "someone-else").token(PUBLIC_URL + DISCOVERY), reason="unknown-kid")


def test_jku_not_allowlisted_is_refused(client: FlaskClient, es384: ClientKey) -> None:
    refused(
        client,
        es384.token(PUBLIC_URL + DISCOVERY, header={"jku": "https://attacker.example.org/jwks.json"}),
        reason="jku-not-allowed",
    )


# --- what is and is not protected, and what is logged --------------------------------------


def test_probes_metrics_and_api_document_need_no_token(client: FlaskClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert client.get(path).status_code == 200, path


def test_browser_preflight_needs_no_token(client: FlaskClient) -> None:
    response = client.options(SERVICE, headers={"Origin": "https://ehr.example.org"})
    assert response.status_code == 200
    assert "POST" in response.headers["Allow"]


def test_refused_token_is_never_logged_but_the_reason_is(
    client: FlaskClient, es384: ClientKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = es384.token(PUBLIC_URL + DISCOVERY, exp=int(time.time()) - 100, iat=int(time.time()) - 400)
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 401
    assert "expired" in caplog.text
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text


def test_accepted_token_is_never_logged(
    client: FlaskClient, es384: ClientKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = es384.token(PUBLIC_URL + DISCOVERY)
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200
    assert token.split(".")[2] not in caplog.text


def test_auth_off_lets_local_development_call_without_a_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    app = create_app(Settings(auth="off", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"))
    assert "AUTHENTICATION IS OFF" in caplog.text
    assert app.test_client().get(DISCOVERY).status_code == 200


def test_auth_on_without_issuers_refuses_everyone(tmp_path: Path, es384: ClientKey) -> None:
    settings = Settings(auth="on", public_url=PUBLIC_URL, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    client = create_app(settings).test_client()
    assert client.get(DISCOVERY, headers=bearer(es384.token(PUBLIC_URL + DISCOVERY))).status_code == 401


def test_sandbox_example_configuration_holds_the_sandbox_public_key(tmp_path: Path) -> None:
    issuers = load_trusted_issuers(REPO / "config" / "trusted-issuers.example.json")
    sandbox = issuers["https://sandbox.cds-hooks.org"]
    assert sandbox.jwks is not None
    (key,) = sandbox.jwks["keys"]
    assert key["kid"] == "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
    assert jwt.PyJWK(key).key.curve.name == "secp384r1"
    assert "https://sandbox.cds-hooks.org/.well-known/jwks.json" in sandbox.allowed_jku()


def test_issuer_file_with_a_symmetric_key_is_rejected_at_start(tmp_path: Path) -> None:
    issuers = {ISS: {"jwks": {"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}}}
    with pytest.raises(ValueError, match="EC and RSA"):
        create_app(auth_settings(tmp_path, issuers))


# --- keys fetched from a URL ---------------------------------------------------------------


class JwksServer:
    """A JWK Set served on 127.0.0.1, counting how often it is fetched."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


def url_client(tmp_path: Path, url: str, **overrides: Any) -> FlaskClient:
    return create_app(auth_settings(tmp_path, {ISS: {"jwks_url": url}}, **overrides)).test_client()


def test_keys_from_the_issuers_url_are_fetched_once_and_cached(
    tmp_path: Path, jwks_server: JwksServer, es384: ClientKey
) -> None:
    jwks_server.keys = [es384.jwk]
    client = url_client(tmp_path, jwks_server.url)
    for _ in range(3):
        token = es384.token(PUBLIC_URL + DISCOVERY, header={"jku": jwks_server.url})
        assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200
    assert jwks_server.fetches == 1


def test_rotated_key_is_found_by_refetching_on_unknown_kid(
    tmp_path: Path, jwks_server: JwksServer, es384: ClientKey
) -> None:
    jwks_server.keys = [es384.jwk]
    client = url_client(tmp_path, jwks_server.url, jwks_refetch_interval_seconds=0)
    assert client.get(DISCOVERY, headers=bearer(es384.token(PUBLIC_URL + DISCOVERY))).status_code == 200
    rotated = ClientKey("ES384", "ehr-ec-2")
    jwks_server.keys = [es384.jwk, rotated.jwk]
    assert client.get(DISCOVERY, headers=bearer(rotated.token(PUBLIC_URL + DISCOVERY))).status_code == 200
    assert jwks_server.fetches == 2


def test_unknown_kids_do_not_make_the_service_hammer_the_issuer(
    tmp_path: Path, jwks_server: JwksServer, es384: ClientKey
) -> None:
    jwks_server.keys = [es384.jwk]
    client = url_client(tmp_path, jwks_server.url)
    assert client.get(DISCOVERY, headers=bearer(es384.token(PUBLIC_URL + DISCOVERY))).status_code == 200
    for n in range(5):
        refused(client, ClientKey("ES384", f"forged-{n}").token(PUBLIC_URL + DISCOVERY))
    assert jwks_server.fetches == 1


def test_jku_other_than_the_issuers_url_is_never_fetched(
    tmp_path: Path, jwks_server: JwksServer, es384: ClientKey
) -> None:
    jwks_server.keys = [es384.jwk]
    client = url_client(tmp_path, "https://ehr.example.org/.well-known/jwks.json")
    refused(
        client, es384.token(PUBLIC_URL + DISCOVERY, header={"jku": jwks_server.url}), reason="jku-not-allowed"
    )
    assert jwks_server.fetches == 0


def test_unreachable_key_url_is_a_401_not_a_500(tmp_path: Path, es384: ClientKey) -> None:
    client = url_client(tmp_path, "http://127.0.0.1:9/jwks.json", jwks_fetch_timeout_seconds=0.5)
    refused(client, es384.token(PUBLIC_URL + DISCOVERY), reason="jwks-unavailable")


# --- the replay cache ----------------------------------------------------------------------


def test_same_token_sent_by_many_threads_at_once_is_accepted_exactly_once() -> None:
    cache = JtiCache(max_entries=1000)
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def send() -> None:
        barrier.wait()
        first = cache.first_use(ISS, "the-jti", time.time() + 300)
        with lock:
            results.append(first)

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1


def test_expired_jtis_are_forgotten_and_a_full_cache_fails_closed() -> None:
    cache = JtiCache(max_entries=2)
    assert cache.first_use(ISS, "old", time.time() - 1)
    assert cache.first_use(ISS, "a", time.time() + 300)
    assert cache.first_use(ISS, "b", time.time() + 300)  # "old" had expired: its slot is reused
    assert len(cache) == 2
    with pytest.raises(ReplayCacheFull):
        cache.first_use(ISS, "c", time.time() + 300)


def test_same_jti_from_two_issuers_is_not_a_replay() -> None:
    cache = JtiCache(max_entries=10)
    assert cache.first_use(ISS, "shared", time.time() + 300)
    assert cache.first_use(TENANT_ISS, "shared", time.time() + 300)
