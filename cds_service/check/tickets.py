"""The red-flag check link's token: what one card asks, signed and timed with itsdangerous.

The token is signed, not encrypted: it holds codes only (the consult id, the service, the EHR's order
reference and code, the patient's keyed hash from the decision log, red-flag ids and rule features),
never a patient identifier, name or record text. The signing key is SPINE_CDS_SECRET_KEY and the salt
names the service's public URL, so a link made by another deployment (another key or URL) is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from itsdangerous import BadData, SignatureExpired, TimestampSigner
from itsdangerous.encoding import base64_decode, base64_encode

from cds_service.rules.model import Decision, Modality, RedFlagId, Region

SALT = "spine-cds red-flag check"


class LinkExpired(Exception):
    """A genuine link whose time is up."""


class LinkInvalid(Exception):
    """Not a link this service made: tampered, cut short, or signed by another service instance."""


@dataclass(frozen=True)
class CheckTicket:
    """What a red-flag check link stands for: one card's order and its questions."""

    consult_id: str
    service_id: str
    patient_hash: str
    order_reference: str
    order_system: str | None
    order_code: str | None
    modality: Modality
    regions: tuple[Region, ...]
    found: tuple[RedFlagId, ...]  # red flags the record already showed
    ask: tuple[RedFlagId, ...]  # questions still to ask
    features: tuple[str, ...]  # rule features of the record (so the page's outcome follows the rules)
    not_checked: bool  # some of the record could not be read

    @classmethod
    def of(cls, decision: Decision, *, service_id: str, patient_hash: str) -> CheckTicket:
        """The ticket of a decision's card."""
        order = decision.order
        return cls(
            consult_id=decision.consult_id,
            service_id=service_id,
            patient_hash=patient_hash,
            order_reference=order.reference,
            order_system=order.matched.system,
            order_code=order.matched.code,
            modality=order.modality,
            regions=order.regions,
            found=decision.red_flag_ids,
            ask=tuple(item.id for item in decision.ask_about),
            features=tuple(decision.extras.get("features", ())),
            not_checked=bool(decision.not_checked),
        )

    def to_json(self) -> dict[str, Any]:
        """Compact JSON for the token."""
        return {
            "c": self.consult_id,
            "s": self.service_id,
            "p": self.patient_hash,
            "o": [self.order_reference, self.order_system, self.order_code],
            "m": self.modality.value,
            "r": self.regions,  # str enums: orjson writes their values
            "f": self.found,
            "q": self.ask,
            "x": self.features,
            "n": int(self.not_checked),
        }

    @classmethod
    def from_json(cls, raw: Any) -> CheckTicket:
        """Read back a signed payload (ValueError, KeyError or TypeError when it is not one of ours)."""
        reference, system, code = raw["o"]
        return cls(
            consult_id=str(raw["c"]),
            service_id=str(raw["s"]),
            patient_hash=str(raw["p"]),
            order_reference=str(reference),
            order_system=system,
            order_code=code,
            modality=Modality(raw["m"]),
            regions=tuple(Region(r) for r in raw["r"]),
            found=tuple(RedFlagId(f) for f in raw["f"]),
            ask=tuple(RedFlagId(q) for q in raw["q"]),
            features=tuple(str(x) for x in raw["x"]),
            not_checked=bool(raw["n"]),
        )


@dataclass(frozen=True)
class OpenedLink:
    """A verified link: its ticket, when it was made and when it stops working."""

    ticket: CheckTicket
    issued_at: datetime
    expires_at: datetime
    key: str  # SHA-256 of the token: the single-use key kept in seen_tokens


class CheckLinks:
    """Makes and verifies red-flag check tokens for one service instance.

    A token is the ticket's JSON (orjson, base64url), signed and timestamped by itsdangerous'
    `TimestampSigner` (HMAC under the key derived from SPINE_CDS_SECRET_KEY and the salt). The signer
    is made once: every card that asks carries a token, so making one is on the hook path, and
    itsdangerous' URL-safe serializer (a new signer and a zlib pass per token) cost ten times more.
    """

    def __init__(self, secret_key: str, public_url: str, *, minutes: int) -> None:
        self._signer = TimestampSigner(secret_key, salt=f"{SALT}|{public_url.rstrip('/')}")
        self._seconds = minutes * 60
        self._base = public_url.rstrip("/") + "/check/"

    def url(self, ticket: CheckTicket) -> str:
        """The absolute URL of the check page for this ticket."""
        return self._base + self.token(ticket)

    def token(self, ticket: CheckTicket) -> str:
        """The signed, timed token for this ticket."""
        return self._signer.sign(base64_encode(orjson.dumps(ticket.to_json()))).decode("ascii")

    def open(self, token: str) -> OpenedLink:
        """Verify a token: LinkExpired when its time is up, LinkInvalid when it is not ours."""
        try:
            payload, signed_at = self._signer.unsign(token, max_age=self._seconds, return_timestamp=True)
        except SignatureExpired as error:
            raise LinkExpired from error
        except BadData as error:
            raise LinkInvalid from error
        try:
            ticket = CheckTicket.from_json(orjson.loads(base64_decode(payload)))
        except (ValueError, KeyError, TypeError, BadData) as error:
            raise LinkInvalid from error
        issued = signed_at.astimezone(UTC)
        return OpenedLink(
            ticket=ticket,
            issued_at=issued,
            expires_at=datetime.fromtimestamp(issued.timestamp() + self._seconds, UTC),
            key=hashlib.sha256(f"check|{token}".encode()).hexdigest(),
        )
