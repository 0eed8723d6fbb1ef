"""HTTP surface of CDS Hooks 2.0: discovery, the hook endpoints and their feedback endpoints.

The hook an endpoint stands for comes from its service declaration, not from the body: the CDS
Hooks sandbox sends `"hook": "order-select"` to order-sign services (digest §4), so the body's hook
only has to be one of the order hooks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request
from pydantic import BaseModel, ValidationError

from cds_service.app_parts import knowledge_of, settings_of
from cds_service.check import answer_finder, link_cards
from cds_service.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from cds_service.hooks.request import (
    ORDER_HOOKS,
    FeedbackRequest,
    HookRequest,
    OrderContext,
    describe_errors,
    missing_context,
)
from cds_service.hooks.services import CdsService, declare_services, discovery_document, find_service
from cds_service.metrics import DECISIONS, REJECTED_REQUESTS
from cds_service.pipeline import evaluate_call
from cds_service.store import get_store

SERVICES_KEY = "spine_cds.services"
HOOK_ENDPOINT = "hooks.call_service"  # tests check every 200 answer of this endpoint against the spec
log = logging.getLogger(__name__)
TOO_DEEP = "The request nests JSON too deeply to be read"

Model = TypeVar("Model", bound=BaseModel)

discovery = Blueprint("discovery", __name__)
hooks = Blueprint("hooks", __name__)


def _service(service_id: str) -> CdsService:
    service = find_service(current_app.extensions[SERVICES_KEY], service_id)
    if service is None:
        raise NotFound("No CDS service with this id; GET /cds-services lists them")
    return service


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def parse_json(raw: bytes) -> Any:
    """Parse a request body: orjson (about half the time of `json.loads` on a large prefetch),
    falling back to the standard library for what orjson refuses but the service always accepted
    (NaN, integers beyond 64 bits, lone surrogates), so no body is answered differently."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _read_at_most(stream: Any, size: int) -> bytes:
    """Up to `size` bytes of a stream that ends (a server may return fewer bytes per read)."""
    parts = []
    while size > 0:
        part = stream.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _json_object(limit: int) -> dict[str, Any]:
    """The request body as a JSON object: 415 when not JSON, 413 over the limit, 400 when malformed."""
    if not _is_json(request.mimetype):
        raise UnsupportedMediaType("The body must be JSON (Content-Type: application/json)")
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The body is over the {limit}-byte limit")
    length = request.content_length
    if length is not None and not request.environ.get("wsgi.input_terminated"):
        # The declared length in one read: werkzeug's 64 KB-chunk reader costs 4 ms on a 4 MB prefetch.
        raw = request.environ["wsgi.input"].read(length)
    elif request.environ.get("wsgi.input_terminated"):
        # The server ends the stream (gunicorn always; chunked bodies too): one byte over the limit
        # is enough to refuse. (werkzeug's reader would stop silently at the limit: a cut body, 400.)
        raw = _read_at_most(request.environ["wsgi.input"], limit + 1)
    else:
        raw = request.get_data(cache=False)  # no length and no end: what the server has, if anything
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body is over the {limit}-byte limit")
    try:
        body = parse_json(raw)
    except (ValueError, RecursionError) as error:
        raise BadRequest("The body is not valid JSON") from error
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object")
    return body


def _validated(model: type[Model], data: dict[str, Any], where: str = "") -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        detail = describe_errors(error)
        raise BadRequest(f"Not a valid CDS Hooks {model.__name__}", diagnostics=f"{where}{detail}") from error
    except RecursionError as error:  # absurdly nested input
        raise BadRequest(f"Not a valid CDS Hooks {model.__name__}") from error


@discovery.get("/cds-services")
def list_services() -> dict[str, Any]:
    """Discovery: every service, generated from the declarations."""
    return discovery_document(current_app.extensions[SERVICES_KEY]).to_json()


def _refuse_missing_context(service: CdsService, context: dict[str, Any]) -> None:
    """400 naming the REQUIRED context the call lacks; logged and counted, never a silent "no cards"."""
    missing = missing_context(service.hook, context)
    if not missing:
        return
    for name in missing:
        REJECTED_REQUESTS.labels(reason=f"missing-context-{name}").inc()
    fields = ", ".join(f"context.{name}" for name in missing)
    log.warning(
        "hook call refused: %s missing",
        fields,
        extra={"service": service.id, "missing": [f"context.{name}" for name in missing]},
    )
    raise BadRequest(
        f"The {service.hook} call lacks {fields}, which CDS Hooks 2.0 makes required: "
        "without it the service cannot tell which orders to advise on",
        diagnostics=f"{fields}: required by the {service.hook} hook (an empty Bundle or list is accepted)",
    )


def _claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


@hooks.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    """A hook call: validate the envelope, run the pipeline, log the decisions, answer the cards."""
    service = _service(service_id)
    settings = settings_of(current_app)
    call = _validated(HookRequest, _json_object(settings.max_body_bytes))
    if call.hook not in ORDER_HOOKS:
        raise BadRequest(
            "This service answers order-select and order-sign calls only",
            diagnostics=f"hook: expected one of {sorted(ORDER_HOOKS)}",
        )
    context = _validated(OrderContext, call.context, where="context.")
    _refuse_missing_context(service, call.context)

    # Only absurd client JSON trips recursion (no FHIR resource nests hundreds of levels deep); a
    # depth check on every body would cost more than a whole call on a large record.
    patient_hash = get_store(current_app).patient_key(context.patientId)
    try:
        outcome = evaluate_call(
            call,
            service,
            knowledge=knowledge_of(current_app),
            settings=settings,
            find_answers=answer_finder(current_app, patient_hash),
        )
    except RecursionError as error:
        raise BadRequest(TOO_DEEP) from error
    link_cards(current_app, outcome, service_id=service.id, patient_hash=patient_hash)
    try:
        # Straight to JSON text in pydantic's serializer: no intermediate dict for Flask to encode.
        body = outcome.response.model_dump_json(by_alias=True, exclude_none=True)
    except (RecursionError, ValueError) as error:  # pydantic's "maximum serialization depth"
        raise BadRequest(TOO_DEEP) from error  # on junk echoed from the client's draft order
    if outcome.decisions:
        claims = g.get("client_claims") or {}
        get_store(current_app).log_decisions(
            client_id=_claim(claims, "iss"),
            tenant=_claim(claims, "tenant"),
            service_id=service.id,
            hook=service.hook,
            hook_instance=call.hookInstance,
            patient_id=context.patientId,
            decisions=outcome.decisions,
            response=outcome.response,
        )
        for decision in outcome.decisions:
            DECISIONS.labels(pathway=decision.pathway.value).inc()
    response = current_app.response_class(body, mimetype="application/json")
    response.call_on_close(_kept_until_sent(call, outcome))
    return response


def _kept_until_sent(*parts: object) -> Callable[[], None]:
    """Keep the request's parsed body and record alive until the answer has been sent.

    A 5,000-resource prefetch is a few hundred thousand objects: freeing them takes about 10 ms,
    which the EHR would otherwise wait for before the first byte of the answer. The server calls
    the response's close once the answer is written; they are freed then, on the worker's time.
    """
    held = list(parts)
    return held.clear


@hooks.post("/cds-services/<service_id>/feedback")
def receive_feedback(service_id: str) -> dict[str, Any]:
    """Feedback on cards: validate every item (cds-fb-1/2/3), store them, answer 200."""
    service = _service(service_id)
    feedback = _validated(FeedbackRequest, _json_object(settings_of(current_app).max_body_bytes))
    items = [item.to_json() for item in feedback.feedback]
    get_store(current_app).save_feedback(service_id=service.id, items=items)
    return {}


def install_routes(app: Flask) -> None:
    """Declare the services and register the discovery, hook and feedback routes."""
    app.extensions[SERVICES_KEY] = declare_services(knowledge_of(app), settings_of(app))
    app.register_blueprint(discovery)
    app.register_blueprint(hooks)
