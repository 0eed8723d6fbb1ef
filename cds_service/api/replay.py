"""The replay guard: a client JWT's `jti` is accepted once, until the token expires.

Two layers. `JtiCache`, in the memory of one process, refuses a token this process has already
seen without touching the database. The shared table (cds_service/store/seen_tokens.py, in the
decision store's database) is the authority: every worker and every node of a deployment inserts
into it, so a token replayed to another worker or node is refused too.
"""

from __future__ import annotations

import heapq
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol


class ReplayCacheFull(Exception):
    """Every slot holds a token that has not expired yet; accepting more would forget one."""


@dataclass
class JtiCache:
    """Seen (issuer, jti) pairs with their expiry, bounded in size, safe across threads."""

    max_entries: int
    _expiry: dict[tuple[str, str], float] = field(default_factory=dict)
    _by_expiry: list[tuple[float, tuple[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        """Record the jti; False when it was already seen and has not expired (a replay).

        `expires_at` is a Unix time after which the token is refused anyway (exp + leeway), so the
        jti can be forgotten then. Raises ReplayCacheFull rather than forget a live jti.
        """
        key = (issuer, jti)
        with self._lock:
            now = time.time()
            self._forget_expired(now)
            if key in self._expiry:
                return False
            if len(self._expiry) >= self.max_entries:
                raise ReplayCacheFull(f"{len(self._expiry)} unexpired jti held")
            self._expiry[key] = expires_at
            heapq.heappush(self._by_expiry, (expires_at, key))
            return True

    def forget(self, issuer: str, jti: str) -> None:
        """Drop a jti that was recorded but not used (its token was then refused for another reason)."""
        with self._lock:
            self._expiry.pop((issuer, jti), None)  # its heap entry goes when it expires

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def _forget_expired(self, now: float) -> None:
        while self._by_expiry and self._by_expiry[0][0] < now:
            _, key = heapq.heappop(self._by_expiry)
            self._expiry.pop(key, None)


class SharedSeenTokens(Protocol):
    """Token ids seen by every worker and node (the store's `SeenTokens`)."""

    def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        """True the first time any process sees the token id; raises StoreUnavailable when down."""
        ...


@dataclass
class ReplayGuard:
    """The process's cache in front of the deployment's shared table of seen token ids."""

    local: JtiCache
    shared: SharedSeenTokens

    def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        """False when the token id was seen before by this or any other process (a replay).

        Raises StoreUnavailable when the shared table cannot be reached; the token is then not
        remembered here either, so the client's retry after the outage is not taken for a replay.
        """
        try:
            if not self.local.first_use(issuer, jti, expires_at):
                return False
            remembered = True
        except ReplayCacheFull:
            # The shared table decides alone; a full cache must not lock out every new token.
            remembered = False
        try:
            return self.shared.first_use(issuer, jti, expires_at)
        except Exception:
            if remembered:
                self.local.forget(issuer, jti)
            raise
