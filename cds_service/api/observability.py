"""Observability: request ids, one JSON log line per request, /healthz, /readyz and /metrics.

Log lines carry the method, the route template (never the raw path or query), the service id,
status, duration and request id; never bodies, headers, tokens or patient data.

Metrics under gunicorn with several workers: set PROMETHEUS_MULTIPROC_DIR to an empty directory
before the server starts (prometheus_client reads it at import time) and /metrics aggregates every
worker's counters; see docs/operations.md.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from flask import Blueprint, Flask, Response, current_app, g, has_request_context, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from cds_service.api.errors import outcome_response
from cds_service.api.routes import SERVICES_KEY
from cds_service.app_parts import settings_of
from cds_service.errors import operation_outcome
from cds_service.metrics import REQUEST_LATENCY
from cds_service.store import get_store

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is echoed into our logs and headers, so accept only short, plain tokens.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_log = logging.getLogger("cds_service.access")
_DECLARED_IDS = "spine_cds.declared_service_ids"
_LATENCY_CHILDREN = "spine_cds.latency_children"
# Attributes every LogRecord has; anything else was passed through `extra=` and is logged as a field.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

observability = Blueprint("observability", __name__)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and `extra` fields.

    An exception is logged as its type and stack frames only: exception messages (a validation
    error's, say) can quote the input, and the input may be patient data.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["stack"] = "".join(traceback.format_tb(record.exc_info[2]))
        # orjson: one line per request is written on the hot path, at a fifth of json.dumps' cost.
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class _StderrHandler(logging.StreamHandler):
    # Looks sys.stderr up at each write, so a replaced stderr (gunicorn, test capture) is honoured.
    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_json_logging(level: str = "INFO") -> None:
    """Send the service's own loggers (`cds_service.*`) to stderr as JSON lines, once per process."""
    logger = logging.getLogger("cds_service")
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonLogFormatter())
        logger.addHandler(handler)
    logger.setLevel(level.upper())


def _start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _service_label() -> str:
    """The service id for declared services, else the route template: labels stay bounded."""
    service_id = (request.view_args or {}).get("service_id")
    declared = current_app.extensions.get(_DECLARED_IDS)
    if declared is None:  # the routes are installed after observability: read them once, here
        declared = frozenset(service.id for service in current_app.extensions.get(SERVICES_KEY, ()))
        current_app.extensions[_DECLARED_IDS] = declared
    if service_id in declared:
        return str(service_id)
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def _latency_metric(service: str, status: int) -> Any:
    """The latency histogram's child for (service, status), looked up once per pair: labels() takes
    a lock and builds tuples on every call, and the pairs are few (declared services x statuses)."""
    children: dict[tuple[str, int], Any] = current_app.extensions[_LATENCY_CHILDREN]
    child = children.get((service, status))
    if child is None:
        child = children[(service, status)] = REQUEST_LATENCY.labels(service=service, status=str(status))
    return child


def _finish_request(response: Response) -> Response:
    started = g.get("request_started")
    duration = time.perf_counter() - started if started is not None else 0.0
    service = _service_label()
    status = response.status_code
    _latency_metric(service, status).observe(duration)
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    access_log.info(
        "request",
        extra={
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule is not None else "unmatched",
            "service": service,
            "status": status,
            "duration_ms": round(duration * 1000, 3),
        },
    )
    return response


def _outcome(status: int, problems: list[str]) -> Response:
    issues = [operation_outcome(text, "transient")["issue"][0] for text in problems]
    return outcome_response({"resourceType": "OperationOutcome", "issue": issues}, status)


@observability.get("/healthz")
def healthz() -> dict[str, str]:
    """Alive: the process answers HTTP (no dependency is checked)."""
    return {"status": "ok"}


@observability.get("/readyz")
def readyz() -> Response | dict[str, Any]:
    """Ready for traffic: the knowledge is loaded and the decision store answers; else 503."""
    problems = []
    if current_app.extensions.get("spine_cds.knowledge") is None:
        problems.append("Clinical knowledge is not loaded.")
    if not get_store(current_app).ping():
        problems.append("The decision and feedback database is unreachable.")
    if problems:
        return _outcome(503, problems)
    return {"status": "ready", "checks": {"knowledge": "ok", "database": "ok"}}


@observability.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition (all gunicorn workers' when PROMETHEUS_MULTIPROC_DIR is set)."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def install_observability(app: Flask) -> None:
    """Request ids, JSON access logs, request latency metrics and the health/metrics routes."""
    configure_json_logging(settings_of(app).log_level)
    app.extensions[_LATENCY_CHILDREN] = {}
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.register_blueprint(observability)
