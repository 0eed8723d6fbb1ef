"""The red-flag check pages: `GET /check/<token>` shows the card's questions, `POST` stores the answers.

Plain server-rendered HTML that works without JavaScript. Every answer is `Cache-Control: no-store`
under a Content-Security-Policy that allows only the service's own stylesheet, and sends no
Referer (the link is a capability). Anything wrong (a link that is expired, tampered with, used or
another service's; a forged or missing CSRF token; unknown fields, values other than yes/no, a body
over the limit, too many requests) gets a plain 4xx page and stores nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

import jinja2
from flask import Blueprint, Response, current_app, request, url_for
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.exceptions import HTTPException
from wtforms.validators import ValidationError

from cds_service.app_parts import knowledge_of, settings_of
from cds_service.cards.templating import templates_dir
from cds_service.check.outcome import flag_label, order_name, what_follows
from cds_service.check.problems import CheckProblem, problem_for_status
from cds_service.check.tickets import CheckLinks, LinkExpired, LinkInvalid, OpenedLink
from cds_service.errors import CdsError
from cds_service.metrics import CHECK_ANSWER_SETS, CHECK_ANSWERS, CHECK_REFUSED
from cds_service.rules.answers import ANSWERS, CLINIC_TIME, Answer
from cds_service.rules.model import RedFlagId
from cds_service.rules.pathway_rules import load_pathway_rules
from cds_service.store.answers import AnswerSet, AnswerStore

log = logging.getLogger("cds_service.check")

LINKS_KEY = "spine_cds.check_links"
ANSWERS_KEY = "spine_cds.check_answers"
# A filled form is a few hundred bytes (a CSRF token and up to eight yes/no answers).
MAX_FORM_BYTES = 4096
CSRF_FIELD = "csrf_token"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

check_pages = Blueprint("check", __name__)


@cache
def page_templates() -> jinja2.Environment:
    """The pages' Jinja2 environment (cards_templates/check/), HTML-escaped, built once per process."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir() / "check"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


@cache
def stylesheet_text() -> str:
    """The pages' stylesheet, read once per process."""
    return (templates_dir() / "check" / "check.css").read_text("utf-8")


def _answer_store() -> AnswerStore:
    store: AnswerStore = current_app.extensions[ANSWERS_KEY]
    return store


def _page(name: str, status: int = 200, **variables: Any) -> Response:
    html = (
        page_templates()
        .get_template(name)
        .render(
            guideline=knowledge_of(current_app).guideline,
            stylesheet=url_for("check.stylesheet"),
            **variables,
        )
    )
    return Response(html, status=status, mimetype="text/html")


def _clock(moment: datetime) -> str:
    return moment.astimezone(CLINIC_TIME).strftime("%H:%M")


@check_pages.before_request
def _limit_rate() -> None:
    """At most SPINE_CDS_CHECK_REQUESTS_PER_MINUTE requests per client address, on all nodes."""
    if request.endpoint == "check.stylesheet":
        return
    request.max_content_length = MAX_FORM_BYTES
    if (
        _answer_store().hit(request.remote_addr or "unknown")
        > settings_of(current_app).check_requests_per_minute
    ):
        raise CheckProblem("rate-limited")


@check_pages.after_request
def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@check_pages.errorhandler(CheckProblem)
def _problem(problem: CheckProblem) -> Response:
    CHECK_REFUSED.labels(reason=problem.reason).inc()
    log.info("red-flag check refused: %s", problem.reason)
    response = _page("problem.html.j2", problem.status, **problem.words())
    if problem.status == 429:
        response.headers["Retry-After"] = "60"
    return response


@check_pages.errorhandler(HTTPException)
def _http_problem(error: HTTPException) -> Response:
    return _problem(problem_for_status(error.code or 400))


@check_pages.errorhandler(CdsError)
def _service_problem(error: CdsError) -> Response:
    return _problem(problem_for_status(error.status))


def _open(token: str) -> OpenedLink:
    links: CheckLinks = current_app.extensions[LINKS_KEY]
    try:
        return links.open(token)
    except LinkExpired as error:
        raise CheckProblem("expired") from error
    except LinkInvalid as error:
        raise CheckProblem("invalid") from error


def _questions(link: OpenedLink) -> list[dict[str, str]]:
    """The link's questions, worded as on the card (knowledge/pathway-rules.json, one source)."""
    rules = load_pathway_rules()
    worded = {q.flag: q.question for q in (*rules.ask_about, *rules.ask_when_unmeasured)}
    return [
        {"id": flag.value, "label": flag_label(flag), "question": worded[flag]}
        for flag in link.ticket.ask
        if flag in worded
    ]


@check_pages.get("/check/<token>")
def show_questions(token: str) -> Response:
    """The form: the order, the red flags the record showed, one question per flag still to ask."""
    link = _open(token)
    if _answer_store().link_used(link.key):
        raise CheckProblem("used")
    return _page(
        "form.html.j2",
        order=order_name(link.ticket),
        found=[flag_label(flag) for flag in link.ticket.found],
        questions=_questions(link),
        csrf_token=generate_csrf(),
        action=url_for("check.save_answers", token=token),
        until=_clock(link.expires_at),
    )


def _answers_from_form(link: OpenedLink) -> dict[RedFlagId, Answer]:
    """The submitted answers; CheckProblem for anything the form could not have sent."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise CheckProblem("not-a-form")
    form = request.form
    try:
        validate_csrf(form.get(CSRF_FIELD))
    except ValidationError as error:
        raise CheckProblem("csrf") from error
    asked = {flag.value: flag for flag in link.ticket.ask}
    answers: dict[RedFlagId, Answer] = {}
    for name, values in form.lists():
        if name == CSRF_FIELD:
            continue
        if name not in asked or len(values) != 1:
            raise CheckProblem("unknown-field")
        value = values[0]
        if value not in ANSWERS:
            raise CheckProblem("bad-answer")
        answers[asked[name]] = "yes" if value == "yes" else "no"
    return answers


@check_pages.post("/check/<token>")
def save_answers(token: str) -> Response:
    """Store the answers (once per link), log and count them, and show what follows."""
    link = _open(token)
    answers = _answers_from_form(link)
    ticket = link.ticket
    answer_set = AnswerSet(
        consult_id=ticket.consult_id,
        service_id=ticket.service_id,
        patient_hash=ticket.patient_hash,
        order_reference=ticket.order_reference,
        order_system=ticket.order_system,
        order_code=ticket.order_code,
        answers={flag.value: answer for flag, answer in answers.items()},
    )
    set_id = _answer_store().save(answer_set, link_key=link.key, link_expires_at=link.expires_at.timestamp())
    if set_id is None:
        raise CheckProblem("used")
    answered_at = datetime.now(CLINIC_TIME)
    outcome = what_follows(ticket, answers, answered_at, knowledge_of(current_app))
    _log_answer_set(set_id, ticket.consult_id, answer_set.answers, changed=outcome.changed)
    return _page(
        "answered.html.j2",
        order=order_name(ticket),
        outcome=outcome,
        answered_at=answered_at.strftime("%H:%M on %d %b %Y"),
        valid_minutes=settings_of(current_app).answers_valid_minutes,
    )


def _log_answer_set(set_id: str, consult_id: str, answers: Mapping[str, str], *, changed: bool) -> None:
    """One log line and the counters per answer set: question ids and yes/no only, never free text."""
    for question, answer in answers.items():
        CHECK_ANSWERS.labels(question=question, answer=answer).inc()
    CHECK_ANSWER_SETS.labels(changed_pathway="yes" if changed else "no").inc()
    log.info(
        "red-flag check answered",
        extra={
            "answer_set_id": set_id,
            "consult_id": consult_id,
            "answers": dict(answers),
            "changed_pathway": changed,
        },
    )


@check_pages.get("/check/static/check.css")
def stylesheet() -> Response:
    """The pages' only asset, served by the service itself (no CDN)."""
    response = Response(stylesheet_text(), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
