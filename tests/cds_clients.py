"""CDS clients as they really call a service (digest §4), for the tests that drive `spine-cds serve`.

`Client` signs each call as the CDS Hooks Sandbox does; `sandbox_prefetch` fetches prefetch the way
the sandbox does; `template_problems` checks a discovery prefetch template against the spec.
"""

from __future__ import annotations

import re
import time
from typing import Any

import requests

from tests.client_keys import ClientKey
from tests.fixtures.fhir_server import FhirServer

CONTEXT_TOKENS = {"{{context.patientId}}", "{{context.userId}}", "{{context.encounterId}}"}
USER_TOKENS = {"{{userPractitionerId}}", "{{userPractitionerRoleId}}", "{{userPatientId}}"}
DATE_PREFIXES = ("eq", "lt", "gt", "ge", "le")


class Client:
    """A CDS client's signing key and calls: an ES384 JWT per call, aud = the exact URL called."""

    def __init__(self, iss: str, base_url: str, jku: str | None = None, origin: str | None = None) -> None:
        self.base_url, self.jku, self.origin = base_url, jku, origin
        self.key = ClientKey("ES384", iss=iss)
        self.jwks = {"keys": [{**self.key.jwk, "alg": "ES384", "use": "sig"}]}

    def headers(self, path: str) -> dict[str, str]:
        """What the sandbox sends: JSON, its origin, and a fresh token for this URL."""
        now = round(time.time())  # the sandbox rounds iat: up to half a second in the future
        token = self.key.token(self.base_url + path, header={"jku": self.jku}, iat=now, exp=now + 300)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return headers | ({"Origin": self.origin} if self.origin else {})

    def get(self, path: str) -> requests.Response:
        """GET with a token, as discovery is called."""
        response = requests.get(self.base_url + path, headers=self.headers(path), timeout=10)
        self._check_cors(response)
        return response

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        """POST JSON with a token, as hook calls and feedback are sent."""
        response = requests.post(self.base_url + path, json=body, headers=self.headers(path), timeout=20)
        self._check_cors(response)
        return response

    def _check_cors(self, response: requests.Response) -> None:
        if self.origin:  # a browser drops an answer without this header, whatever its status
            assert response.headers.get("Access-Control-Allow-Origin") == self.origin


def sandbox_prefetch(
    templates: dict[str, str], server: FhirServer, patient_id: str, failing: set[str]
) -> dict[str, Any]:
    """What the sandbox fetches itself: keys whose fetch failed or found nothing are left out."""
    prefetch = {}
    for key, template in templates.items():
        if key in failing:
            continue
        query = template.replace("{{context.patientId}}", patient_id)
        response = requests.get(f"{server.base_url}/{query}", headers=server.headers(), timeout=10)
        body = response.json() if response.ok else None
        if body and (body["resourceType"] != "Bundle" or body.get("entry")):
            prefetch[key] = body
    return prefetch


def template_problems(template: str) -> list[str]:
    """How a prefetch template breaks the spec's token rules or its restricted query subset."""
    problems = [
        f"token {t}" for t in re.findall(r"\{\{.*?\}\}", template) if t not in CONTEXT_TOKENS | USER_TOKENS
    ]
    path, _, query = template.partition("?")
    if not query:
        return problems + ([] if re.fullmatch(r"[A-Z][A-Za-z]+/\{\{[^}]+\}\}", path) else ["not a read"])
    if not re.fullmatch(r"[A-Z][A-Za-z]+", path):
        problems.append(f"not a type-level search: {path}")
    for param in query.split("&"):
        name, _, value = param.partition("=")
        base, _, modifier = name.partition(":")
        if name.startswith(("_include", "_revinclude", "_has")) or "." in name or modifier not in ("", "in"):
            problems.append(f"parameter {name} is outside the restricted subset")
        if base == "date" and not value.startswith(DATE_PREFIXES):
            problems.append(f"date prefix of {value}")
    return problems
