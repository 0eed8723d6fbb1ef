"""Every error the service answers is a FHIR OperationOutcome, never an HTML page or a stack trace."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from cds_service.errors import CdsError, operation_outcome

logger = logging.getLogger(__name__)

# One media type for every error body, so clients need one parser.
OUTCOME_MIMETYPE = "application/fhir+json"

# OperationOutcome.issue.code (http://hl7.org/fhir/issue-type) for the HTTP errors Werkzeug raises.
ISSUE_CODE_BY_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    408: "timeout",
    411: "invalid",
    412: "processing",
    413: "too-costly",
    415: "structure",
    429: "throttled",
    503: "transient",
}


def outcome_response(body: dict[str, Any], status: int) -> Response:
    """An error response carrying an OperationOutcome."""
    response = jsonify(body)
    response.status_code = status
    response.mimetype = OUTCOME_MIMETYPE
    return response


def _cds_error(error: CdsError) -> Response:
    return outcome_response(error.operation_outcome(), error.status)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    message = error.name if status >= 500 else (error.description or error.name)
    response = outcome_response(
        operation_outcome(message, ISSUE_CODE_BY_STATUS.get(status, "exception")), status
    )
    # 405 must say what is allowed; keep any such header Werkzeug prepared.
    for name, value in error.get_headers():
        if name.lower() in ("allow", "retry-after", "www-authenticate"):
            response.headers[name] = value
    return response


def _unexpected(error: Exception) -> Response:
    # The message, locals and even source lines may hold patient data: log the type and where only.
    where = " <- ".join(
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for frame in reversed(traceback.extract_tb(error.__traceback__))
    )
    logger.error("unhandled %s at %s", type(error).__name__, where)
    return outcome_response(operation_outcome("Internal error", "exception"), 500)


def install_error_handlers(app: Flask) -> None:
    """Map the CdsError family, HTTP errors and anything unexpected to OperationOutcome responses."""
    app.register_error_handler(CdsError, _cds_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
