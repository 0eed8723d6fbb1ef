"""Browser-based CDS clients (the CDS Hooks Sandbox) can call the service from allowed origins only."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cds_service import Settings, create_app

SANDBOX = "http://localhost:8080"
ROUTES = [
    "/cds-services",
    "/cds-services/spinal-imaging-order-select",
    "/cds-services/spinal-imaging-order-sign/feedback",
]


def cors_client(tmp_path: Path, origins: str, auth: str = "off") -> FlaskClient:
    settings = Settings.model_validate(
        {"auth": auth, "cors_origins": origins, "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    )
    return create_app(settings).test_client()


def preflight(client: FlaskClient, path: str, origin: str) -> dict[str, str]:
    response = client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert response.status_code in (200, 204)
    return dict(response.headers)


@pytest.mark.parametrize("path", ROUTES)
def test_sandbox_preflight_is_answered_on_discovery_hook_and_feedback(tmp_path: Path, path: str) -> None:
    headers = preflight(cors_client(tmp_path, f"{SANDBOX},https://ehr.example.org"), path, SANDBOX)
    assert headers["Access-Control-Allow-Origin"] == SANDBOX
    assert set(headers["Access-Control-Allow-Methods"].replace(" ", "").split(",")) == {
        "GET",
        "POST",
        "OPTIONS",
    }
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "Access-Control-Allow-Credentials" not in headers


def test_preflight_needs_no_token_when_auth_is_on(tmp_path: Path) -> None:
    headers = preflight(cors_client(tmp_path, SANDBOX, auth="on"), ROUTES[1], SANDBOX)
    assert headers["Access-Control-Allow-Origin"] == SANDBOX


def test_refused_call_still_carries_cors_headers_so_the_browser_can_see_the_401(tmp_path: Path) -> None:
    response = cors_client(tmp_path, SANDBOX, auth="on").get("/cds-services", headers={"Origin": SANDBOX})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == SANDBOX


def test_discovery_from_allowed_origin_gets_allow_origin(tmp_path: Path) -> None:
    response = cors_client(tmp_path, SANDBOX).get("/cds-services", headers={"Origin": SANDBOX})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SANDBOX
    assert "Origin" in response.headers.get("Vary", "")


def test_other_origin_gets_no_cors_headers(tmp_path: Path) -> None:
    client = cors_client(tmp_path, SANDBOX)
    response = client.get("/cds-services", headers={"Origin": "https://evil.example.org"})
    assert "Access-Control-Allow-Origin" not in response.headers
    response = client.options(
        "/cds-services",
        headers={"Origin": "https://evil.example.org", "Access-Control-Request-Method": "GET"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers


def test_no_origins_configured_means_no_cross_origin_access(tmp_path: Path) -> None:
    response = cors_client(tmp_path, "").get("/cds-services", headers={"Origin": SANDBOX})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_wildcard_only_when_the_operator_says_so(tmp_path: Path) -> None:
    response = cors_client(tmp_path, "*").get(
        "/cds-services", headers={"Origin": "https://anywhere.example.org"}
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
