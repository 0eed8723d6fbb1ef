"""CDS Hooks 2.0 request, order-hook context, feedback and discovery models.

Strict where the specification says REQUIRED (a 400 tells the client what it got wrong), lenient
where real clients are known to be sloppy (digest §2, §4): draft orders stay raw JSON dicts so that
a Bundle without `type`, `code.coding: [{}]` or a single object where R4 wants a list never stops
the call; orders.py reads them defensively.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from cds_service.hooks.response import SpecModel

ORDER_SELECT = "order-select"
ORDER_SIGN = "order-sign"
ORDER_HOOKS = frozenset({ORDER_SELECT, ORDER_SIGN})

NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class _Lenient(BaseModel):
    """Unknown fields are kept: clients add their own, and the 3.0 ballot adds more."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Tolerant(BaseModel):
    """Unknown fields are accepted and dropped: what the service keeps is exactly what it knows."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- hook call -------------------------------------------------------------------------------


class FhirAuthorization(_Lenient):
    """OAuth 2.0 access the client grants for fetching FHIR data; every field but `patient` REQUIRED."""

    # SecretStr so that the token never shows in a repr, a log line or a validation error.
    access_token: SecretStr
    token_type: NonEmpty
    expires_in: int
    scope: NonEmpty
    subject: NonEmpty
    patient: str | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("token_type must be Bearer")
        return value

    @field_validator("access_token")
    @classmethod
    def _token_present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("access_token must not be empty")
        return value


class HookRequest(_Lenient):
    """The body of `POST /cds-services/{id}`."""

    hook: NonEmpty
    hookInstance: NonEmpty
    fhirServer: NonEmpty | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _server_for_token(self) -> HookRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirAuthorization requires fhirServer (cds-r-1)")
        return self

    @property
    def access_token(self) -> str | None:
        """The bearer token to use against fhirServer, if the client granted one."""
        if self.fhirAuthorization is None:
            return None
        return self.fhirAuthorization.access_token.get_secret_value()


# What CDS Hooks 2.0 makes REQUIRED in an order hook's context besides patientId and userId, by
# the hook of the service called: a call without them comes from a broken client, and answering
# it with no cards would look like "no advice" (see `missing_context`).
REQUIRED_ORDER_CONTEXT = {ORDER_SELECT: ("selections", "draftOrders"), ORDER_SIGN: ("draftOrders",)}


def missing_context(service_hook: str, context: dict[str, Any]) -> list[str]:
    """The REQUIRED context fields the call leaves out (absent or null), for the service's hook.

    Only absence counts: an empty Bundle of draft orders, an empty selections list, a Bundle without
    `type` or junk entries are what real clients send, and stay accepted.
    """
    return [name for name in REQUIRED_ORDER_CONTEXT.get(service_hook, ()) if context.get(name) is None]


class OrderContext(_Lenient):
    """order-select / order-sign context.

    `patientId` is enforced here: without it nothing can be said about anyone; `selections` and
    `draftOrders` are checked by `missing_context` against the hook of the service called. A missing
    `userId` does not stop the call; `draftOrders` stays raw because real clients send Bundles R4
    would reject.
    """

    patientId: NonEmpty
    userId: str | None = None
    encounterId: str | None = None
    selections: list[str] = Field(default_factory=list)
    draftOrders: Any = None

    @field_validator("selections", mode="before")
    @classmethod
    def _selections(cls, value: Any) -> Any:
        # A single "ServiceRequest/x" where a list belongs is a sloppy client, not a different request.
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [item for item in value if isinstance(item, str)]
        return value


# --- feedback --------------------------------------------------------------------------------


class FeedbackCoding(_Tolerant):
    """An override reason as sent back; the sandbox drops `display`, so it is optional here."""

    code: NonEmpty
    system: NonEmpty
    display: str | None = None


class OverrideReasonFeedback(_Tolerant):
    """Why the clinician overrode the card: a coded reason, a comment, or both (cds-fb-3)."""

    reason: FeedbackCoding | None = None
    userComment: str | None = None

    @model_validator(mode="after")
    def _reason_or_comment(self) -> OverrideReasonFeedback:
        if self.reason is None and not self.userComment:
            raise ValueError("overrideReason needs a reason or a userComment (cds-fb-3)")
        return self


class AcceptedSuggestion(_Tolerant):
    """A suggestion the clinician accepted, by the suggestion's uuid."""

    id: NonEmpty


class FeedbackItem(_Tolerant):
    """One feedback entry: what the clinician did with one card."""

    card: NonEmpty
    outcome: Literal["accepted", "overridden"]  # cds-fb-1
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReasonFeedback | None = None
    outcomeTimestamp: AwareDatetime  # RFC 3339: a time zone is part of the format
    extension: dict[str, Any] | None = None

    @field_validator("outcomeTimestamp")
    @classmethod
    def _utc_representable(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)  # the spec asks for UTC; stored normalised
        except OverflowError as error:  # e.g. 0001-01-01T00:00:00+01:00
            raise ValueError("outcomeTimestamp is outside the range of dates") from error

    @model_validator(mode="after")
    def _accepted_names_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("an accepted card needs acceptedSuggestions (cds-fb-2)")
        return self

    def to_json(self) -> dict[str, Any]:
        """The item as JSON for the store: the spec's fields only, absent ones left out."""
        return self.model_dump(mode="json", exclude_none=True, exclude={"extension"})


class FeedbackRequest(_Lenient):
    """The body of `POST /cds-services/{id}/feedback`."""

    feedback: list[FeedbackItem] = Field(min_length=1)


# --- discovery -------------------------------------------------------------------------------


class ServiceDefinition(SpecModel):
    """One entry of the discovery document."""

    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class DiscoveryResponse(SpecModel):
    """The body of `GET /cds-services`."""

    services: list[ServiceDefinition]


def describe_errors(error: ValidationError) -> str:
    """A client-facing summary of what was wrong, naming fields but never echoing their values."""
    parts = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)
