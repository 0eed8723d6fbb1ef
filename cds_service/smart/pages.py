"""The SMART app's pages.

- `GET /smart/launch`, `GET /smart/callback`: the EHR launch (launch.py), then the questions as a
  plain form (no JavaScript needed; CSRF token from flask-wtf).
- `POST /smart/answers`: the answers, written to the launching EHR's FHIR server as a
  QuestionnaireResponse for the launch's patient, with the launch's token. Once only: the launch
  cookie is cleared when the EHR has stored them.

Every page is `Cache-Control: no-store` with a strict Content-Security-Policy; a bad request gets a
plain 4xx page and writes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cache
from typing import Any

import requests
from flask import Blueprint, Flask, Response, current_app, redirect, request
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Response as BaseResponse
from wtforms import ValidationError

from cds_service.app_parts import knowledge_of, settings_of
from cds_service.cards.templating import labels, templates_dir
from cds_service.check.page import stylesheet_text
from cds_service.check.questionnaire import build_questionnaire
from cds_service.errors import Forbidden
from cds_service.fhir.client import allowed_server
from cds_service.knowledge import Knowledge
from cds_service.rules.answers import ANSWERS, Answer
from cds_service.rules.model import RedFlagId
from cds_service.settings import Settings
from cds_service.smart.launch import (
    FORM_SECONDS,
    LAUNCH_SECONDS,
    Launched,
    LaunchRefused,
    Sealer,
    begin,
    finish,
)
from cds_service.smart.questionnaire import questionnaire_response

log = logging.getLogger(__name__)

SEALER_KEY = "spine_cds.smart_sealer"
LAUNCH_COOKIE = "spine_cds_smart"
MAX_FORM_BYTES = 10_000
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'self'"
)

smart_pages = Blueprint("smart", __name__)


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir() / "smart"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _sealer() -> Sealer:
    sealer: Sealer = current_app.extensions[SEALER_KEY]
    return sealer


def _redirect_uri() -> str:
    return f"{settings_of(current_app).public_url.rstrip('/')}/smart/callback"


def _page(template: str, status: int = 200, **values: Any) -> Response:
    html = _environment().get_template(template).render(**values)
    response = current_app.response_class(html, status=status, mimetype="text/html")
    _protected(response)
    return response


def _protected(response: BaseResponse) -> BaseResponse:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _problem(status: int, message: str) -> Response:
    return _page("problem.html.j2", status=status, message=message)


def _set_launch_cookie(response: BaseResponse, value: str, max_age: int) -> None:
    response.set_cookie(
        LAUNCH_COOKIE,
        value,
        max_age=max_age,
        path="/smart/",
        httponly=True,
        secure=settings_of(current_app).public_url.startswith("https://"),
        samesite="Lax",  # the callback is a top-level GET from the EHR's authorisation server
    )


def _questions(form: dict[str, Any]) -> list[dict[str, str]]:
    return [{"id": item["linkId"], "text": item["text"]} for item in form["item"]]


def _form(knowledge: Knowledge) -> dict[str, Any]:
    return build_questionnaire(settings_of(current_app), knowledge)


@smart_pages.get("/smart/smart.css")
def stylesheet() -> Response:
    """The red-flag check's stylesheet (the SMART pages look the same), served by the service (no CDN)."""
    response = current_app.response_class(stylesheet_text(), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@smart_pages.get("/smart/launch")
def launch() -> BaseResponse:
    """The EHR launch: discover the EHR's endpoints, then redirect to authorize (PKCE, state)."""
    try:
        url, pending = begin(
            request.args.get("iss"),
            request.args.get("launch"),
            settings=settings_of(current_app),
            redirect_uri=_redirect_uri(),
        )
    except LaunchRefused as refused:
        return _problem(refused.status, refused.message)
    response = _protected(redirect(url, code=302))
    _set_launch_cookie(response, _sealer().seal(pending), LAUNCH_SECONDS)
    return response


@smart_pages.get("/smart/callback")
def callback() -> Response:
    """The EHR's answer to authorize: exchange the code, then show the questions."""
    sealer = _sealer()
    try:
        launched = finish(
            sealer.open_pending(request.cookies.get(LAUNCH_COOKIE)),
            request.args,
            settings=settings_of(current_app),
            redirect_uri=_redirect_uri(),
        )
    except LaunchRefused as refused:
        response = _problem(refused.status, refused.message)
        response.delete_cookie(LAUNCH_COOKIE, path="/smart/")  # a launch is tried once
        return response
    form = _form(knowledge_of(current_app))
    response = _page("form.html.j2", questions=_questions(form), csrf_token=generate_csrf())
    _set_launch_cookie(response, sealer.seal(launched), FORM_SECONDS)
    return response


def _answers(form_data: Any, questions: set[str]) -> dict[RedFlagId, Answer]:
    """The form's answers; LaunchRefused (400) on any unknown field or value."""
    out: dict[RedFlagId, Answer] = {}
    for name in form_data:
        values = form_data.getlist(name)
        if name == "csrf_token":
            continue
        if name not in questions or len(values) != 1 or values[0] not in ANSWERS:
            raise LaunchRefused(400, "The form held an unknown question or an answer other than yes or no.")
        out[RedFlagId(name)] = values[0]
    if not out:
        raise LaunchRefused(400, "No question was answered: answer at least one, or close the app.")
    return out


def _write(launched: Launched, resource: dict[str, Any], settings: Settings) -> int | None:
    """POST the response to the launching EHR's FHIR server; its status, None when unreachable."""
    try:
        base = allowed_server(launched.iss, settings)  # checked again: the allowlist may have changed
    except Forbidden as refused:
        raise LaunchRefused(403, "This EHR's FHIR server is not one this service may use.") from refused
    try:
        with requests.Session() as session:
            session.trust_env = False
            resp = session.post(
                f"{base}/QuestionnaireResponse",
                json=resource,
                headers={
                    "Authorization": f"Bearer {launched.access_token}",
                    "Content-Type": "application/fhir+json",
                    "Accept": "application/fhir+json",
                },
                timeout=settings.smart_timeout_seconds,
                allow_redirects=False,
            )
    except requests.RequestException as failed:
        log.warning("QuestionnaireResponse write failed (%s)", type(failed).__name__)
        return None
    return resp.status_code


@smart_pages.post("/smart/answers")
def answers() -> Response:
    """The submitted answers, written to the EHR as a QuestionnaireResponse for the launch's patient."""
    if request.content_length is None or request.content_length > MAX_FORM_BYTES:
        return _problem(413, "The form is larger than this page ever sends.")
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError):
        return _problem(400, "The form could not be verified (missing or expired CSRF token); launch again.")
    launched = _sealer().open_launched(request.cookies.get(LAUNCH_COOKIE))
    if launched is None:
        return _problem(
            400, "This launch has expired or its answers were already saved; launch the app again."
        )
    knowledge = knowledge_of(current_app)
    form = _form(knowledge)
    settings = settings_of(current_app)
    try:
        given = _answers(request.form, {q["id"] for q in _questions(form)})
        resource = questionnaire_response(
            form, given, patient_id=launched.patient, authored=datetime.now(UTC)
        )
        status = _write(launched, resource, settings)
    except LaunchRefused as refused:
        return _problem(refused.status, refused.message)
    if status not in (200, 201):
        log.warning("the EHR refused the QuestionnaireResponse (status %s)", status)
        return _problem(502, "The EHR did not store the answers; nothing was saved. Try again from the EHR.")
    log.info("red-flag answers written to the EHR: %s", ", ".join(f"{k}={v}" for k, v in given.items()))
    names = labels()["red_flags"]
    notes = "; ".join(
        f"{names.get(flag.value, flag.value).lower()} \N{EN DASH} {answer}" for flag, answer in given.items()
    )
    response = _page("saved.html.j2", notes=f"Spinal red flags asked ({knowledge.guideline.label}): {notes}")
    response.delete_cookie(LAUNCH_COOKIE, path="/smart/")
    return response


def install_smart(app: Flask, secret: str) -> None:
    """The SMART app's pages; `secret` seals the launch cookie."""
    app.extensions[SEALER_KEY] = Sealer(secret)
    app.register_blueprint(smart_pages)
