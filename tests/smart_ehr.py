"""A test double of an EHR that launches SMART apps, on loopback, in front of the real FHIR server.

- its OAuth 2.0 authorization server is authlib's Flask AuthorizationServer with the
  authorization-code grant and PKCE required (CodeChallenge(required=True)); it approves every
  request (the clinician is signed in) and gives the token response the launch's `patient`;
- `{base}/fhir/.well-known/smart-configuration` names its endpoints;
- `{base}/fhir/...` is a resource server: it checks the bearer token it issued, then forwards the
  request to sekmet, so what the app writes really lands in the FHIR server the suite runs.

No EHR authorization server can be installed here (reference/real-components.md), hence the double.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, Response, request
from werkzeug.serving import make_server

from tests.fixtures.fhir_server import FhirServer
from tests.servers import free_port

CLIENT_ID = "spine-cds-test-app"


@dataclass
class _Client(ClientMixin):
    client_id: str
    ehr: SmartEhr

    @property
    def redirect_uri(self) -> str:
        return self.ehr.redirect_uri

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # a public client has none

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class _Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    patient: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class SmartEhr:
    """The running double: its FHIR base URL (the `iss`) and what it saw."""

    base_url: str
    fhir_base: str
    redirect_uri: str  # the app's registered redirect URI (set when the app's address is known)
    launches: dict[str, str] = field(default_factory=dict)  # launch id -> patient id
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> patient id
    authorize_requests: list[dict[str, str]] = field(default_factory=list)

    def launch_for(self, patient_id: str) -> str:
        """A launch id for this patient, as the EHR makes one when the clinician opens the app."""
        launch = f"launch-{len(self.launches) + 1}"
        self.launches[launch] = patient_id
        return launch


def _ehr_app(ehr: SmartEhr, fhir: FhirServer) -> Flask:
    app = Flask("smart-ehr-double")
    client = _Client(CLIENT_ID, ehr)
    codes: dict[str, _Code] = {}

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

        def save_authorization_code(self, code: str, req: Any) -> None:
            launch = req.payload.data.get("launch", "")
            codes[code] = _Code(
                code=code,
                client_id=req.client.get_client_id(),
                redirect_uri=req.payload.redirect_uri,
                scope=req.payload.scope,
                patient=ehr.launches.get(launch, ""),
                code_challenge=req.payload.data.get("code_challenge"),
                code_challenge_method=req.payload.data.get("code_challenge_method"),
            )

        def query_authorization_code(self, code: str, client: Any) -> _Code | None:
            found = codes.get(code)
            return found if found is not None and found.client_id == client.get_client_id() else None

        def delete_authorization_code(self, authorization_code: _Code) -> None:
            codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: _Code) -> object:
            return {"user": "dr-test"}

        def create_token_response(self) -> Any:
            patient = self.request.authorization_code.patient
            status, token, headers = super().create_token_response()
            token["patient"] = patient
            ehr.tokens[token["access_token"]] = patient
            return status, token, headers

    server = AuthorizationServer(
        app,
        query_client=lambda client_id: client if client_id == CLIENT_ID else None,
        save_token=lambda token, req: None,
    )
    server.register_grant(CodeGrant, [CodeChallenge(required=True)])

    @app.get("/authorize")
    def authorize() -> Any:
        ehr.authorize_requests.append(dict(request.args))
        return server.create_authorization_response(grant_user={"user": "dr-test"})

    @app.post("/token")
    def token() -> Any:
        return server.create_token_response()

    @app.get("/fhir/.well-known/smart-configuration")
    def smart_configuration() -> dict[str, Any]:
        return {
            "authorization_endpoint": f"{ehr.base_url}/authorize",
            "token_endpoint": f"{ehr.base_url}/token",
            "code_challenge_methods_supported": ["S256"],
            "capabilities": ["launch-ehr", "client-public", "context-ehr-patient"],
        }

    @app.route("/fhir/<path:path>", methods=["GET", "POST"])
    def fhir_api(path: str) -> Response:
        header = request.headers.get("Authorization", "")
        if header.removeprefix("Bearer ") not in ehr.tokens:
            return Response('{"resourceType":"OperationOutcome"}', status=401)
        forwarded = requests.request(
            request.method,
            f"{fhir.base_url}/{path}",
            params=request.args,
            data=request.get_data(),
            headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
            timeout=30,
        )
        return Response(forwarded.content, status=forwarded.status_code, mimetype="application/fhir+json")

    return app


@contextmanager
def running_ehr(fhir: FhirServer, redirect_uri: str = "") -> Iterator[SmartEhr]:
    """Serve the EHR double on a free loopback port until the block ends."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ehr = SmartEhr(base_url=base, fhir_base=f"{base}/fhir", redirect_uri=redirect_uri)
    server = make_server("127.0.0.1", port, _ehr_app(ehr, fhir), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/fhir/.well-known/smart-configuration", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield ehr
    finally:
        server.shutdown()
        thread.join(timeout=5)
