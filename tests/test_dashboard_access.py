"""Who may see the dashboard: its own sign-in, and no crossing with the hooks' client JWT."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from itsdangerous import URLSafeTimedSerializer

from cds_service import Settings, create_app
from cds_service.cli import main
from cds_service.dashboard import signin
from cds_service.dashboard.users import UsersFile
from cds_service.samples import load_sample, service_id_for
from cds_service.store import get_store, tables
from tests.client_keys import ClientKey
from tests.conftest import SAMPLES
from tests.dashboard_pages import PASSWORD, USER, csrf_token, sign_in, users_file

PUBLIC_URL = "http://127.0.0.1:8080"
ISS = "https://ehr.example.org"
PAGES = (
    "/dashboard",
    "/dashboard/",
    "/dashboard/print",
    "/dashboard/export.csv",
    "/dashboard/logout",
    "/dashboard/x",
)
SECRET = "dashboard-test-secret"


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "auth": "off",
        "database_url": f"sqlite:///{tmp_path / 'log.sqlite'}",
        "dashboard_users": users_file(tmp_path),
        "secret_key": SECRET,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """The service with the dashboard on and one decision in the log."""
    app = create_app(_settings(tmp_path))
    sample = load_sample(SAMPLES / "01-cauda-equina-urinary-retention.json")
    assert (
        app.test_client()
        .post(f"/cds-services/{service_id_for(sample.request)}", json=sample.request)
        .status_code
        == 200
    )
    return app


def _shows_no_data(page: str) -> None:
    assert "total-decisions" not in page and "watch-table" not in page and "urn:uuid:" not in page


def test_the_dashboard_is_off_without_a_users_file(tmp_path: Path) -> None:
    client = create_app(_settings(tmp_path, dashboard_users=None)).test_client()
    assert client.get("/dashboard").status_code == 404
    assert client.get("/dashboard/login").status_code == 404


@pytest.mark.parametrize("path", PAGES)
def test_every_dashboard_url_without_a_session_goes_to_the_sign_in_page(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/dashboard/login")


def test_sign_in_page_is_a_plain_form_with_a_strict_policy(app: Flask) -> None:
    response = app.test_client().get("/dashboard/login")
    assert response.status_code == 200
    assert 'name="username"' in response.text and 'name="password"' in response.text
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "unsafe-inline" not in policy
    assert "<script" not in response.text


def test_session_cookie_is_http_only_strict_and_scoped_to_the_dashboard(app: Flask) -> None:
    client = app.test_client()
    sign_in(client)
    cookie = client.get_cookie("spine_cds_dashboard", path="/dashboard")
    assert cookie is not None
    assert cookie.http_only and cookie.same_site == "Strict" and cookie.path == "/dashboard"
    assert not cookie.secure  # the public URL is http here


def test_session_cookie_is_secure_behind_an_https_public_url(tmp_path: Path) -> None:
    client = create_app(_settings(tmp_path, public_url="https://cds.example.org")).test_client()
    token = csrf_token(client.get("/dashboard/login", base_url="https://cds.example.org").text)
    response = client.post(
        "/dashboard/login",
        data={"username": USER, "password": PASSWORD, "csrf_token": token},
        base_url="https://cds.example.org",
        headers={"Referer": "https://cds.example.org/dashboard/login"},
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]


def test_wrong_password_shows_a_clear_page_and_no_data(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = app.test_client()
    assert sign_in(client, password="not the password") == 401
    page = client.get("/dashboard/login").text
    response = client.get("/dashboard")
    assert response.status_code == 303
    _shows_no_data(page)
    assert "not the password" not in caplog.text
    assert "dashboard sign-in failed user='clinical-lead'" in caplog.text


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client.get("/dashboard/login").text)
    response = client.post(
        "/dashboard/login", data={"username": "nobody", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "The user name or password is wrong." in response.text


def test_repeated_failures_are_refused_for_a_while_even_with_the_right_password(app: Flask) -> None:
    client = app.test_client()
    for _ in range(signin.MAX_FAILURES):
        assert sign_in(client, password="guess") == 401
    assert sign_in(client) == 429
    assert client.get("/dashboard").status_code == 303


def test_sign_in_without_the_csrf_token_is_refused_and_signs_nobody_in(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/dashboard/login", data={"username": USER, "password": PASSWORD})
    assert response.status_code == 400
    assert "Form not accepted" in response.text
    assert client.get("/dashboard").status_code == 303


def test_sign_out_without_the_csrf_token_changes_nothing(app: Flask) -> None:
    client = app.test_client()
    sign_in(client)
    assert client.post("/dashboard/logout").status_code == 400
    assert client.get("/dashboard").status_code == 200


def test_sign_out_ends_the_session(app: Flask) -> None:
    client = app.test_client()
    sign_in(client)
    token = csrf_token(client.get("/dashboard").text)
    response = client.post("/dashboard/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/dashboard").status_code == 303


def test_an_expired_session_goes_back_to_the_sign_in_page(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    sign_in(client)
    assert client.get("/dashboard").status_code == 200
    later = time.time() + 61 * 60  # the default session lasts 60 minutes
    monkeypatch.setattr(signin.time, "time", lambda: later)
    response = client.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/dashboard/login")


def test_a_forged_session_cookie_opens_nothing(app: Flask) -> None:
    client = app.test_client()
    forged = URLSafeTimedSerializer(
        "another-key",
        salt="cookie-session",
        signer_kwargs={"key_derivation": "hmac", "digest_method": "sha1"},
    )
    stamp = UsersFile(Path(app.extensions[signin.USERS_KEY].path)).current_stamp(USER)
    cookie = forged.dumps({"user": USER, "since": int(time.time()), "stamp": stamp, "_permanent": True})
    client.set_cookie("spine_cds_dashboard", cookie, path="/dashboard")
    response = client.get("/dashboard")
    assert response.status_code == 303
    _shows_no_data(response.text)


def test_removing_a_user_ends_their_session(app: Flask) -> None:
    client = app.test_client()
    sign_in(client)
    assert main(["users", "remove", USER, "--file", str(app.extensions[signin.USERS_KEY].path)]) == 0
    assert client.get("/dashboard").status_code == 303


def test_a_hook_client_jwt_never_opens_the_dashboard(tmp_path: Path) -> None:
    key = ClientKey()
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps({ISS: {"jwks": {"keys": [key.jwk]}}}))
    app = create_app(_settings(tmp_path, auth="on", public_url=PUBLIC_URL, trusted_issuers=str(issuers)))
    client = app.test_client()
    for path in ("/dashboard", "/dashboard/export.csv"):
        token = key.token(PUBLIC_URL + path)
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 303, path


def test_a_dashboard_session_never_opens_the_hooks(tmp_path: Path) -> None:
    key = ClientKey()
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps({ISS: {"jwks": {"keys": [key.jwk]}}}))
    app = create_app(_settings(tmp_path, auth="on", public_url=PUBLIC_URL, trusted_issuers=str(issuers)))
    client = app.test_client()
    assert sign_in(client) == 303
    sample = load_sample(SAMPLES / "01-cauda-equina-urinary-retention.json")
    path = f"/cds-services/{service_id_for(sample.request)}"
    cookie = client.get_cookie("spine_cds_dashboard", path="/dashboard")
    assert cookie is not None
    # Sent explicitly: the browser would not even send it outside /dashboard.
    headers = {"Cookie": f"spine_cds_dashboard={cookie.value}"}
    assert client.post(path, json=sample.request, headers=headers).status_code == 401
    assert client.get("/cds-services", headers=headers).status_code == 401
    # ... while the EHR's own token is still accepted, and who called is logged with the decision.
    token = key.token(PUBLIC_URL + path, tenant="practice-7")
    assert (
        client.post(path, json=sample.request, headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    with get_store(app).engine.connect() as connection:
        row = connection.execute(sa.select(tables.decisions.c.client_id, tables.decisions.c.tenant)).one()
    assert (row.client_id, row.tenant) == (ISS, "practice-7")


def test_bad_filters_get_a_plain_400_page(app: Flask) -> None:
    client = app.test_client()
    sign_in(client)
    bad = (
        "from=yesterday",
        "from=2026-02-01&to=2026-01-01",
        "from=2000-01-01&to=2026-01-01",
        "from=9999-12-25&to=9999-12-31",
        "to=0001-01-01",
        "from=2026-13-01",
    )
    for query in bad:
        response = client.get(f"/dashboard?{query}")
        assert response.status_code == 400, query
        assert "Filters not understood" in response.text


def test_users_are_added_from_standard_input_and_stored_only_as_scrypt_hashes(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    result = subprocess.run(
        [
            str(Path(__file__).resolve().parents[1] / ".venv/bin/spine-cds"),
            "users",
            "add",
            "lead",
            "--password-stdin",
        ],
        input="a long pass phrase 99\n",
        capture_output=True,
        text=True,
        env={"SPINE_CDS_DASHBOARD_USERS": str(path), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    stored = path.read_text()
    assert "a long pass phrase 99" not in stored
    assert json.loads(stored)["users"]["lead"]["password_hash"].startswith("scrypt:")
    assert path.stat().st_mode & 0o077 == 0
    assert UsersFile(path).check("lead", "a long pass phrase 99") is not None
    assert main(["users", "remove", "lead", "--file", str(path)]) == 0
    assert UsersFile(path).hashes() == {}


def test_a_short_password_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "users.json"
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("short\n"))
    assert main(["users", "add", "lead", "--password-stdin", "--file", str(path)]) == 2
    assert not path.exists()


def test_a_database_that_is_down_gives_a_plain_503_page(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    client = app.test_client()
    sign_in(client)
    response = client.get("/dashboard")
    assert response.status_code == 503
    assert "Decision log unavailable" in response.text
