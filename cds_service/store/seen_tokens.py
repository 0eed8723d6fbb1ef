"""Client token ids (`iss` + `jti`) seen by any worker or node, kept until the token expires.

The replay guard (cds_service/api/replay.py) asks `first_use` after a token's signature and claims
have been verified, so only tokens signed by a trusted issuer ever reach this table. The database's
unique key decides, not a read-then-write check: when the same token reaches two nodes at the same
moment, exactly one insert succeeds.

A row is the SHA-256 of the issuer and the jti, and the Unix second after which the token is refused
anyway (exp + leeway). Expired rows are deleted in bounded batches, at most every
PURGE_INTERVAL_SECONDS per process, by whichever call is due: no background thread, no job to run.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from cds_service.errors import StoreUnavailable
from cds_service.metrics import STORE_FAILURES
from cds_service.store import tables
from cds_service.store.decision_store import DecisionStore

log = logging.getLogger(__name__)

# How often one process deletes expired rows, and at most how many per call: a purge never holds
# an authentication call for long, and a full batch makes the next call purge again, so the table
# keeps up with any request rate.
PURGE_INTERVAL_SECONDS = 30.0
PURGE_BATCH_ROWS = 5000
# After a failed check, calls are refused with 503 at once this long: a database that hangs on
# connect costs one call its connect timeout, not every call (the EHR retries after Retry-After: 1).
PAUSE_AFTER_FAILURE_SECONDS = 1.0


def token_key(issuer: str, jti: str) -> str:
    """SHA-256 (hex) of the issuer and jti; the length prefix keeps ("ab", "c") apart from ("a", "bc")."""
    return hashlib.sha256(f"{len(issuer)}:{issuer}{jti}".encode()).hexdigest()


def claim_statement(engine: sa.Engine) -> sa.Insert:
    """INSERT of a token key that returns a row only on its first use (parameters: token_key,
    expires_at, now). A row left by an expired token does not block the key for ever: it is taken
    over, in the same atomic statement, only if its expiry has passed. Otherwise nothing is written
    and RETURNING gives no row: a replay."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    table = tables.seen_tokens
    insert = dialect.insert(table)
    return insert.on_conflict_do_update(
        index_elements=[table.c.token_key],
        set_={"expires_at": insert.excluded.expires_at},
        where=table.c.expires_at < sa.bindparam("now"),
    ).returning(table.c.token_key)


class SeenTokens:
    """The shared table of seen token ids, in the decision store's database."""

    def __init__(
        self,
        store: DecisionStore,
        *,
        purge_interval_seconds: float = PURGE_INTERVAL_SECONDS,
        purge_batch_rows: int = PURGE_BATCH_ROWS,
    ) -> None:
        self._store = store
        # SQLite: the connection that does not fsync each commit (see engine.py); a power cut could
        # forget the last few token ids, a crash of the process cannot.
        self._engine = store.decision_engine
        self._purge_interval = purge_interval_seconds
        self._purge_batch = purge_batch_rows
        self._next_purge = time.time() + purge_interval_seconds
        self._purge_lock = threading.Lock()
        self._paused_until = 0.0
        self._claim = claim_statement(self._engine)

    def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        """Record the token id; False when any node has seen it and it has not expired (a replay).

        Raises StoreUnavailable when the database cannot be reached: the caller must not accept
        the token, since it cannot know whether another node already has.
        """
        if time.monotonic() < self._paused_until:
            STORE_FAILURES.labels(operation="seen_tokens").inc()
            raise StoreUnavailable("The service cannot check tokens right now; try again shortly.")
        now = time.time()
        row = {"token_key": token_key(issuer, jti), "expires_at": math.ceil(expires_at), "now": int(now)}
        try:
            self._store.migrate()
            with self._engine.begin() as connection:
                first = connection.execute(self._claim, row).first() is not None
        except (StoreUnavailable, SQLAlchemyError) as error:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
            STORE_FAILURES.labels(operation="seen_tokens").inc()
            raise StoreUnavailable("The service cannot check tokens right now; try again shortly.") from error
        self._purge_if_due(now)
        return first

    def purge_expired(self, now: float | None = None) -> int:
        """Delete up to one batch of rows whose token has expired; returns how many were deleted."""
        cutoff = int(time.time() if now is None else now)
        table = tables.seen_tokens
        expired = (
            sa.select(table.c.token_key)
            .where(table.c.expires_at < cutoff)
            .limit(self._purge_batch)
            .scalar_subquery()
        )
        # The outer expiry test is checked again on the locked row (PostgreSQL re-reads a row another
        # node just took over), so a purge never deletes a token id that is live again.
        statement = sa.delete(table).where(table.c.expires_at < cutoff, table.c.token_key.in_(expired))
        with self._engine.begin() as connection:
            return connection.execute(statement).rowcount

    def _purge_if_due(self, now: float) -> None:
        if now < self._next_purge or not self._purge_lock.acquire(blocking=False):
            return
        try:
            self._next_purge = now + self._purge_interval
            deleted = self.purge_expired(now)
            if deleted >= self._purge_batch:
                self._next_purge = now  # more are waiting: the next call purges another batch
        except SQLAlchemyError as error:
            # The token was checked; a purge that failed is retried at the next interval.
            log.warning("purge of expired token ids failed (%s)", type(error).__name__)
        finally:
            self._purge_lock.release()

    def __len__(self) -> int:
        with self._engine.connect() as connection:
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(tables.seen_tokens)).scalar_one()
            )
