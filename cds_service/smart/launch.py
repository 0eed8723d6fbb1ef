"""SMART App Launch (EHR launch) with PKCE, through authlib's OAuth 2.0 client.

- `begin`: the EHR opens `/smart/launch?iss=...&launch=...`; the FHIR server `iss` must be in
  SPINE_CDS_FHIR_SERVERS (and https unless loopback). Its `.well-known/smart-configuration` names
  the authorization and token endpoints; the app redirects to authorize with `state` and an S256
  code challenge.
- `finish`: the callback's `state` must be the one sent; the code is exchanged with the verifier
  for an access token and the launch's patient.

What must survive between the steps (state, verifier, then token and patient) travels in a cookie
encrypted and timed with SPINE_CDS_SECRET_KEY (Fernet), so any node can continue a launch and the
browser never sees the token. Tokens and patient ids are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from cryptography.fernet import Fernet, InvalidToken

from cds_service.errors import Forbidden
from cds_service.fhir.client import allowed_server
from cds_service.settings import Settings

log = logging.getLogger(__name__)

LAUNCH_SECONDS = 600  # from the EHR's launch to the callback
FORM_SECONDS = 1800  # from the callback to the submitted answers (less if the token expires sooner)
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_MAX_PARAM = 2048


class LaunchRefused(Exception):
    """The launch cannot go on; `status` and `message` make the plain page the clinician sees."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class PendingLaunch:
    """Between the redirect to authorize and the callback."""

    state: str
    verifier: str
    iss: str
    token_endpoint: str


@dataclass(frozen=True)
class Launched:
    """After the callback: where to write, for whom, and with which token."""

    iss: str
    patient: str
    access_token: str
    expires_at: float  # epoch seconds: the token's expiry, or FORM_SECONDS after the callback


class Sealer:
    """Encrypts and times what the browser carries between steps (key from SPINE_CDS_SECRET_KEY)."""

    def __init__(self, secret: str) -> None:
        digest = hashlib.sha256(b"spine-cds smart launch\0" + secret.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, value: PendingLaunch | Launched) -> str:
        """The value as an opaque, encrypted string."""
        body = {"kind": type(value).__name__, **asdict(value)}
        return self._fernet.encrypt(json.dumps(body).encode("utf-8")).decode("ascii")

    def open_pending(self, sealed: str | None) -> PendingLaunch | None:
        """The pending launch, or None when absent, forged or older than LAUNCH_SECONDS."""
        body = self._open(sealed, LAUNCH_SECONDS, "PendingLaunch")
        return PendingLaunch(**body) if body is not None else None

    def open_launched(self, sealed: str | None) -> Launched | None:
        """The launch context, or None when absent, forged or expired."""
        body = self._open(sealed, FORM_SECONDS, "Launched")
        if body is None:
            return None
        launched = Launched(**body)
        return launched if launched.expires_at > time.time() else None

    def _open(self, sealed: str | None, ttl: int, kind: str) -> dict[str, Any] | None:
        if not sealed:
            return None
        try:
            body = json.loads(self._fernet.decrypt(sealed.encode("ascii"), ttl=ttl))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            return None
        if not isinstance(body, dict) or body.pop("kind", None) != kind:
            return None
        return body


def _secure_endpoint(url: Any) -> str:
    """An endpoint from the EHR's configuration: https, or http on loopback only."""
    if not isinstance(url, str):
        raise LaunchRefused(502, "The EHR's SMART configuration does not name its OAuth endpoints.")
    parts = urlsplit(url)
    loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise LaunchRefused(502, "The EHR's OAuth endpoints must be reached over https.")
    return url


def _client(settings: Settings, redirect_uri: str) -> OAuth2Session:
    client = OAuth2Session(
        client_id=settings.smart_client_id,
        scope=settings.smart_scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",  # noqa: S106 - a public client: PKCE stands in for a client secret
    )
    client.trust_env = False  # no proxy or .netrc from the environment sees the code or token
    return client


def smart_configuration(iss: str, settings: Settings) -> dict[str, Any]:
    """The FHIR server's `.well-known/smart-configuration` (SMART App Launch 2.x discovery)."""
    url = f"{iss}/.well-known/smart-configuration"
    try:
        with requests.Session() as session:
            session.trust_env = False
            resp = session.get(
                url,
                headers={"Accept": "application/json"},
                timeout=settings.smart_timeout_seconds,
                allow_redirects=False,
            )
        body = resp.json() if resp.status_code == 200 else None
    except (requests.RequestException, ValueError):
        body = None
    if not isinstance(body, dict):
        raise LaunchRefused(502, "The EHR's SMART configuration could not be read; try the launch again.")
    methods = body.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise LaunchRefused(502, "The EHR does not support PKCE with S256, which this app requires.")
    return body


def begin(iss: Any, launch: Any, *, settings: Settings, redirect_uri: str) -> tuple[str, PendingLaunch]:
    """The authorize URL to redirect to, and what the callback must check."""
    if not isinstance(iss, str) or not isinstance(launch, str) or not iss or not launch:
        raise LaunchRefused(
            400, "This page is opened by the EHR with its launch details; open it from the EHR."
        )
    if len(iss) > _MAX_PARAM or len(launch) > _MAX_PARAM:
        raise LaunchRefused(400, "The launch parameters are too long.")
    try:
        base = allowed_server(iss, settings)
    except Forbidden as refused:
        raise LaunchRefused(403, "This EHR's FHIR server is not one this service may use.") from refused
    config = smart_configuration(base, settings)
    authorize = _secure_endpoint(config.get("authorization_endpoint"))
    token = _secure_endpoint(config.get("token_endpoint"))
    verifier = generate_token(64)
    url, state = _client(settings, redirect_uri).create_authorization_url(
        authorize, code_verifier=verifier, launch=launch, aud=iss
    )
    return url, PendingLaunch(state=state, verifier=verifier, iss=base, token_endpoint=token)


def finish(pending: PendingLaunch | None, args: Any, *, settings: Settings, redirect_uri: str) -> Launched:
    """Check the callback against the pending launch and exchange the code for a token."""
    if pending is None:
        raise LaunchRefused(
            400, "This launch has expired or was not started in this browser; launch the app again."
        )
    if args.get("error"):
        raise LaunchRefused(400, "The EHR did not authorise the app; launch it again from the EHR.")
    state, code = args.get("state"), args.get("code")
    if not isinstance(state, str) or not hmac.compare_digest(state.encode(), pending.state.encode()):
        raise LaunchRefused(400, "The launch could not be verified (state does not match); launch again.")
    if not isinstance(code, str) or not code or len(code) > _MAX_PARAM:
        raise LaunchRefused(400, "The EHR sent no authorisation code; launch the app again.")
    if not pending.verifier:
        raise LaunchRefused(400, "The launch could not be verified (no PKCE verifier); launch again.")
    try:
        token = _client(settings, redirect_uri).fetch_token(
            pending.token_endpoint,
            grant_type="authorization_code",
            code=code,
            code_verifier=pending.verifier,
            timeout=settings.smart_timeout_seconds,
            allow_redirects=False,
        )
    except (OAuth2Error, requests.RequestException, ValueError) as failed:
        log.warning("SMART token exchange refused or failed (%s)", type(failed).__name__)
        raise LaunchRefused(502, "The EHR did not give the app access; launch it again.") from failed
    patient, access_token = token.get("patient"), token.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise LaunchRefused(502, "The EHR gave no access token; launch the app again.")
    if not isinstance(patient, str) or not _FHIR_ID.fullmatch(patient):
        raise LaunchRefused(502, "The EHR did not say which patient the app was launched for.")
    expires_in = token.get("expires_in")
    lifetime = expires_in if isinstance(expires_in, (int, float)) and expires_in > 0 else FORM_SECONDS
    expires_at = time.time() + min(float(lifetime), FORM_SECONDS)
    return Launched(iss=pending.iss, patient=patient, access_token=access_token, expires_at=expires_at)
