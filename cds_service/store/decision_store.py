"""The decision and feedback log: what the service advised, and what GPs did with the advice.

When the database is down:
- during a hook call, `log_decisions` logs a warning, counts `spine_cds_store_failures_total`
  and returns: the GP still gets the advice, only the audit row is lost (and counted); for the
  next few seconds hook calls do not try the database at all, so a PostgreSQL that hangs on
  connect costs one call its connect timeout, not every call;
- during a feedback post, `save_feedback` raises StoreUnavailable (503 with an OperationOutcome),
  so the EHR retries and no feedback is silently dropped.
A store that could not be migrated at start-up (database down) retries on the next use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from cds_service.errors import StoreUnavailable
from cds_service.hooks.response import HookResponse
from cds_service.metrics import FEEDBACK_ITEMS, STORE_FAILURES
from cds_service.rules.model import Decision
from cds_service.store import tables
from cds_service.store.card_outcome import copy_outcome
from cds_service.store.decision_writer import DecisionWriter
from cds_service.store.migrate import upgrade_to_head
from cds_service.store.rows import decision_rows, feedback_row, patient_hash

log = logging.getLogger(__name__)

# After a failed decision-log write, hook calls skip the database this long (failures still counted).
LOG_PAUSE_AFTER_FAILURE_SECONDS = 5.0


class DecisionStore:
    """Decision and feedback log on one SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(
        self, engine: sa.Engine, *, patient_hash_key: bytes, decision_engine: sa.Engine | None = None
    ) -> None:
        self.engine = engine
        # SQLite: decisions go through a connection that does not sync each commit (see engine.py).
        self._decision_engine = decision_engine or engine
        self._decision_writer = DecisionWriter(self._decision_engine)
        self._patient_hash_key = patient_hash_key
        self._migrated = False
        self._migrate_lock = threading.Lock()
        self._log_paused_until = 0.0

    @property
    def decision_engine(self) -> sa.Engine:
        """The engine for frequent small writes (on SQLite, commits are not synced one by one)."""
        return self._decision_engine

    def patient_key(self, patient_id: str | None) -> str | None:
        """The keyed hash that stands for this patient in the log (None without a patient id)."""
        return patient_hash(self._patient_hash_key, patient_id)

    def migrate(self) -> None:
        """Bring the schema to head (once per process); raises StoreUnavailable if the database is down."""
        if self._migrated:
            return
        with self._migrate_lock:
            if self._migrated:
                return
            try:
                upgrade_to_head(self.engine)
            except (SQLAlchemyError, OSError) as error:
                raise StoreUnavailable("The decision store is unavailable; try again shortly.") from error
            self._migrated = True

    def _insert(self, table: sa.Table, conflict_columns: Sequence[str]) -> Any:
        # ON CONFLICT DO NOTHING on the unique key: a repeat is skipped even when two nodes
        # insert it at the same moment (the database, not a read-then-write check, decides).
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
        # RETURNING tells which rows were new (rowcount is not reliable across drivers).
        return statement.returning(table.c.id)

    def log_decisions(
        self,
        *,
        service_id: str,
        hook: str,
        hook_instance: str,
        patient_id: str | None,
        decisions: Sequence[Decision],
        response: HookResponse,
        client_id: str | None = None,
        tenant: str | None = None,
    ) -> None:
        """Record each decision with its card; never raises, because the GP's advice comes first.

        `client_id` / `tenant`: the verified client JWT's `iss` and `tenant` claims, if any."""
        if not decisions:
            return
        if time.monotonic() < self._log_paused_until:
            # The database failed moments ago: do not make every GP wait for its connect timeout.
            STORE_FAILURES.labels(operation="log_decisions").inc()
            return
        try:
            rows = decision_rows(
                service_id=service_id,
                hook=hook,
                hook_instance=hook_instance,
                patient_key=patient_hash(self._patient_hash_key, patient_id),
                decisions=decisions,
                response=response,
                now=datetime.now(UTC),
                client_id=client_id,
                tenant=tenant,
            )
            self.migrate()
            self._decision_writer.write(rows)
        except (StoreUnavailable, SQLAlchemyError) as error:
            self._log_paused_until = time.monotonic() + LOG_PAUSE_AFTER_FAILURE_SECONDS
            STORE_FAILURES.labels(operation="log_decisions").inc()
            log.warning(
                "decision log unavailable; advice was returned but %d decision(s) not logged (%s)",
                len(decisions),
                type(error.__cause__ or error).__name__,
            )
        except Exception:
            # A bug in the log must not cost the GP the advice; the stack goes to the log.
            STORE_FAILURES.labels(operation="log_decisions").inc()
            log.exception("decision log failed; advice was returned")

    def save_feedback(self, *, service_id: str, items: Sequence[Mapping[str, Any]]) -> int:
        """Store every feedback item once; returns how many were new. StoreUnavailable when down."""
        now = datetime.now(UTC)
        # Key order: two posts holding overlapping items lock rows in the same order (no deadlock).
        rows = sorted(
            (feedback_row(service_id, item, now=now) for item in items), key=lambda row: row["item_key"]
        )
        new = 0
        try:
            self.migrate()
            with self.engine.begin() as connection:
                statement = self._insert(tables.feedback, ("item_key",))
                for row in rows:
                    if connection.execute(statement, row).all():
                        new += 1
                        copy_outcome(connection, row)
        except SQLAlchemyError as error:
            STORE_FAILURES.labels(operation="save_feedback").inc()
            log.warning("feedback store unavailable; answered 503 (%s)", type(error).__name__)
            raise StoreUnavailable("Feedback could not be stored; please send it again shortly.") from error
        for row in rows:
            FEEDBACK_ITEMS.labels(outcome=row["outcome"]).inc()
        return new

    def ping(self) -> bool:
        """True when the database answers and the schema is at head (for /readyz)."""
        try:
            self.migrate()
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except (StoreUnavailable, SQLAlchemyError):
            return False
        return True

    def close(self) -> None:
        """Release pooled connections."""
        self._decision_writer.close()
        self.engine.dispose()
        self._decision_engine.dispose()
