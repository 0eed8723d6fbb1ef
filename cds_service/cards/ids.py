"""Card and suggestion uuids, derived from the decision's consult id so feedback joins the decision."""

from __future__ import annotations

import hashlib


def _consult_bytes(consult_id: str) -> bytes:
    """The 16 bytes of a consult id's uuid (the namespace of its card's uuids)."""
    # bytes.fromhex rather than uuid.UUID(...).bytes: a quarter of the time, for the ids our own
    # pipeline writes ("urn:uuid:" and the 8-4-4-4-12 hex form); anything else is still refused.
    raw = bytes.fromhex(consult_id.removeprefix("urn:uuid:").replace("-", ""))
    if len(raw) != 16:
        raise ValueError(f"not a uuid: {consult_id!r}")
    return raw


def _uuid5(namespace: bytes, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))` in half the time (a card makes two to four of them)."""
    # SHA-1 because RFC 4122 name-based version 5 uuids are defined with it (not for security).
    sha1 = hashlib.sha1(namespace + name.encode("utf-8"), usedforsecurity=False)
    digest = bytearray(sha1.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class ConsultUuids:
    """The uuids of one decision's card and suggestions, its consult id read once for all of them."""

    __slots__ = ("_namespace",)

    def __init__(self, consult_id: str) -> None:
        self._namespace = _consult_bytes(consult_id)

    def card(self) -> str:
        """The uuid of the one card shown for the decision."""
        return _uuid5(self._namespace, "card")

    def suggestion(self, key: str) -> str:
        """The uuid of one suggestion on that card; `key` names the suggestion ("cancel-order", ...)."""
        return _uuid5(self._namespace, f"suggestion:{key}")


def card_uuid(consult_id: str) -> str:
    """The uuid of the one card shown for a decision."""
    return ConsultUuids(consult_id).card()


def suggestion_uuid(consult_id: str, key: str) -> str:
    """The uuid of one suggestion on that card; `key` names the suggestion ("cancel-order", ...)."""
    return ConsultUuids(consult_id).suggestion(key)
