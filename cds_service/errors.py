"""One error family: each maps to an HTTP status and an OperationOutcome body."""

from __future__ import annotations

from typing import Any


def operation_outcome(message: str, code: str, diagnostics: str | None = None) -> dict[str, Any]:
    """A one-issue FHIR R4 OperationOutcome (`code` from http://hl7.org/fhir/issue-type)."""
    issue: dict[str, Any] = {"severity": "error", "code": code, "details": {"text": message}}
    if diagnostics:
        issue["diagnostics"] = diagnostics
    return {"resourceType": "OperationOutcome", "issue": [issue]}


class CdsError(Exception):
    """Base of every error the service answers with a 4xx/5xx and an OperationOutcome."""

    status = 500
    code = "exception"  # OperationOutcome.issue.code (http://hl7.org/fhir/issue-type)

    def __init__(self, message: str, *, diagnostics: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics = diagnostics

    def operation_outcome(self) -> dict[str, Any]:
        """The FHIR R4 OperationOutcome that goes in the response body."""
        return operation_outcome(self.message, self.code, self.diagnostics)


class BadRequest(CdsError):
    """The request is not a valid CDS Hooks call (400)."""

    status = 400
    code = "invalid"


class Unauthorized(CdsError):
    """Client authentication failed (401); the reason goes to the log only."""

    status = 401
    code = "login"


class Forbidden(CdsError):
    """The call names something the service may not use, e.g. a FHIR server not allowlisted (403)."""

    status = 403
    code = "forbidden"


class NotFound(CdsError):
    """No such service (404)."""

    status = 404
    code = "not-found"


class MethodNotAllowed(CdsError):
    """Wrong HTTP method (405)."""

    status = 405
    code = "not-supported"


class PayloadTooLarge(CdsError):
    """Body over the configured limit (413)."""

    status = 413
    code = "too-costly"


class UnsupportedMediaType(CdsError):
    """Body is not JSON (415)."""

    status = 415
    code = "structure"


class PreconditionFailed(CdsError):
    """Data the rules need could not be had from prefetch or the FHIR server (412)."""

    status = 412
    code = "processing"


class StoreUnavailable(CdsError):
    """The decision and feedback store cannot be reached; the client should retry (503)."""

    status = 503
    code = "transient"
