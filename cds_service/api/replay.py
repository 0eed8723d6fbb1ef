"""The replay guard: a client JWT's `jti` is accepted once, until the token expires.

The cache lives in the memory of one process. Under gunicorn with several workers, or with
several nodes, a replayed token that reaches another process is not caught (see README).
"""

from __future__ import annotations

import heapq
import threading
import time
from dataclasses import dataclass, field


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

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def _forget_expired(self, now: float) -> None:
        while self._by_expiry and self._by_expiry[0][0] < now:
            _, key = heapq.heappop(self._by_expiry)
            self._expiry.pop(key, None)
