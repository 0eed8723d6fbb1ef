"""Card and suggestion uuids, derived from the decision's consult id so feedback joins the decision."""

from __future__ import annotations

import uuid


def _consult_uuid(consult_id: str) -> uuid.UUID:
    return uuid.UUID(consult_id.removeprefix("urn:uuid:"))


def card_uuid(consult_id: str) -> str:
    """The uuid of the one card shown for a decision."""
    return str(uuid.uuid5(_consult_uuid(consult_id), "card"))


def suggestion_uuid(consult_id: str, key: str) -> str:
    """The uuid of one suggestion on that card; `key` names the suggestion ("cancel-order", ...)."""
    return str(uuid.uuid5(_consult_uuid(consult_id), f"suggestion:{key}"))
