"""The red-flag check's answers in the shared database: stored once per link, read by every node.

- `save` stores one submitted form, in one transaction with the claim of its link in `seen_tokens`,
  so a link is used once on all nodes, and a reused link stores nothing.
- `find` is the hook path's one look-up: one indexed query per hook call with a spinal order, for
  the patient's hash and the orders' references and codes, within the answers' validity window.
- `hit` counts requests to /check/ per client address and minute, on every node (a fixed window).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from cds_service.errors import StoreUnavailable
from cds_service.metrics import STORE_FAILURES
from cds_service.rules.answers import ANSWERS, Answer, ClinicianAnswers
from cds_service.rules.model import ImagingOrder, RedFlagId
from cds_service.store import tables
from cds_service.store.decision_store import DecisionStore
from cds_service.store.seen_tokens import claim_statement

log = logging.getLogger(__name__)

# After a failed look-up, hook calls skip the database this long (their cards say so).
PAUSE_AFTER_FAILURE_SECONDS = 5.0
RATE_WINDOW_SECONDS = 60
# Rate-limit rows older than this are deleted, at most once per interval per process.
RATE_ROWS_KEPT_SECONDS = 3600
RATE_PURGE_INTERVAL_SECONDS = 300.0


@dataclass(frozen=True)
class AnswerSet:
    """One submitted red-flag check form, for one consult (patient hash, order) of one service."""

    consult_id: str
    service_id: str
    patient_hash: str
    order_reference: str
    order_system: str | None
    order_code: str | None
    answers: Mapping[str, Answer]  # red-flag id -> 'yes' | 'no'


def _utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AnswerStore:
    """The red_flag_answers and check_rate_limits tables, on the decision store's database."""

    def __init__(self, store: DecisionStore, *, valid_minutes: int) -> None:
        self._store = store
        self._engine = store.engine  # synced commits: an answer acknowledged to the GP survives
        # SQLite: counts need not survive a power cut, so their commits are not synced one by one.
        self._counter_engine = store.decision_engine
        self._valid = timedelta(minutes=valid_minutes)
        self._claim = claim_statement(self._engine)
        self._reader = AnswerReader(self._engine)
        self._paused_until = 0.0
        self._next_rate_purge = 0.0
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        limits = tables.check_rate_limits
        insert = dialect.insert(limits)
        same_window = limits.c.window_start == insert.excluded.window_start
        self._hit = insert.on_conflict_do_update(
            index_elements=[limits.c.bucket],
            set_={
                "hits": sa.case((same_window, limits.c.hits + 1), else_=1),
                "window_start": insert.excluded.window_start,
            },
        ).returning(limits.c.hits)

    def save(self, answer_set: AnswerSet, *, link_key: str, link_expires_at: float) -> str | None:
        """Store the answers and use up the link; the answer set's id, or None when the link was used
        before (then nothing is stored). StoreUnavailable when the database is down."""
        now = datetime.now(UTC)
        set_id = str(uuid.uuid4())
        rows = [
            {
                "answer_set_id": set_id,
                "consult_id": answer_set.consult_id[:64],
                "service_id": answer_set.service_id[:200],
                "patient_hash": answer_set.patient_hash,
                "order_reference": answer_set.order_reference[:300],
                "order_system": (answer_set.order_system or None) and answer_set.order_system[:300],
                "order_code": (answer_set.order_code or None) and answer_set.order_code[:100],
                "question": question,
                "answer": answer,
                "answered_at": now,
                "expires_at": now + self._valid,
            }
            for question, answer in answer_set.answers.items()
        ]
        claim = {"token_key": link_key, "expires_at": int(link_expires_at) + 1, "now": int(now.timestamp())}
        try:
            self._store.migrate()
            with self._engine.begin() as connection:
                if connection.execute(self._claim, claim).first() is None:
                    return None
                if rows:
                    connection.execute(sa.insert(tables.red_flag_answers), rows)
        except SQLAlchemyError as error:
            STORE_FAILURES.labels(operation="save_answers").inc()
            raise StoreUnavailable("The answers could not be stored; please try again shortly.") from error
        return set_id

    def link_used(self, link_key: str) -> bool:
        """Whether this link was already used (its key is in seen_tokens and not yet expired)."""
        table = tables.seen_tokens
        query = sa.select(table.c.token_key).where(
            table.c.token_key == link_key, table.c.expires_at >= int(time.time())
        )
        try:
            self._store.migrate()
            with self._engine.connect() as connection:
                return connection.execute(query).first() is not None
        except SQLAlchemyError as error:
            raise StoreUnavailable("The service cannot check this link right now.") from error

    def find(self, patient_hash: str, orders: Sequence[ImagingOrder]) -> dict[str, ClinicianAnswers]:
        """The answers that apply to each order (by reference), in one query; the latest answer to a
        question wins. When the database cannot be read, every order gets answers marked unreadable."""
        now = datetime.now(UTC)
        if time.monotonic() < self._paused_until:
            STORE_FAILURES.labels(operation="find_answers").inc()
            return {order.reference: ClinicianAnswers.could_not_be_read(now) for order in orders}
        try:
            rows = self._query(patient_hash, orders, now)
        except (StoreUnavailable, SQLAlchemyError) as error:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
            STORE_FAILURES.labels(operation="find_answers").inc()
            log.warning(
                "red-flag check answers could not be read (%s)", type(error.__cause__ or error).__name__
            )
            return {order.reference: ClinicianAnswers.could_not_be_read(now) for order in orders}
        found = {}
        for order in orders:
            answers = _answers_for(order, rows)
            if answers is not None:
                found[order.reference] = answers
        return found

    def _query(self, patient_hash: str, orders: Sequence[ImagingOrder], now: datetime) -> list[Any]:
        self._store.migrate()
        references = sorted({order.reference[:300] for order in orders})
        codes = sorted({order.matched.code[:100] for order in orders if order.matched.code})
        return self._reader.read(patient_hash, references, codes, now)

    def hit(self, client_address: str) -> int:
        """Count one request from this client address; returns its requests in the current window."""
        now = int(time.time())
        bucket = hashlib.sha256(f"check|{client_address}".encode()).hexdigest()
        row = {"bucket": bucket, "window_start": now - now % RATE_WINDOW_SECONDS, "hits": 1}
        try:
            self._store.migrate()
            with self._counter_engine.begin() as connection:
                hits = int(connection.execute(self._hit, row).scalar_one())
                if now >= self._next_rate_purge:
                    self._next_rate_purge = now + RATE_PURGE_INTERVAL_SECONDS
                    limits = tables.check_rate_limits
                    connection.execute(
                        sa.delete(limits).where(limits.c.window_start < now - RATE_ROWS_KEPT_SECONDS)
                    )
        except SQLAlchemyError as error:
            STORE_FAILURES.labels(operation="check_rate_limit").inc()
            raise StoreUnavailable("The service cannot take answers right now; try again shortly.") from error
        return hits


def _answers_for(order: ImagingOrder, rows: Sequence[Any]) -> ClinicianAnswers | None:
    """The answers for this order: given for its reference, or for its code (a re-fired order with a
    new id); rows come oldest first, so a later answer to the same question replaces an earlier one."""
    answers: dict[RedFlagId, Answer] = {}
    times: dict[RedFlagId, datetime] = {}
    code = order.matched.code
    for row in rows:
        same_order = row.order_reference == order.reference[:300]
        same_code = (
            code is not None and row.order_code == code[:100] and row.order_system == order.matched.system
        )
        if not (same_order or same_code) or row.answer not in ANSWERS:
            continue
        try:
            flag = RedFlagId(row.question)
        except ValueError:
            continue
        answers[flag] = row.answer
        times[flag] = _utc(row.answered_at)
    if not answers:
        return None
    return ClinicianAnswers(answers=answers, answered_at=max(times.values()), times=times)


_SELECT_ANSWERS = (
    "SELECT order_reference, order_system, order_code, question, answer, answered_at FROM red_flag_answers"
)


class AnswerReader:
    """The hook path's answer look-up as one prepared SELECT on a kept driver connection.

    Through SQLAlchemy Core the look-up cost about 2.8 ms of CPU on every spinal hook call (pool
    checkout, statement caching of a varying IN list, result objects), against 13 us for the query
    itself; the hook path cannot afford it (design.md "Performance by design"). So the SQL is written
    once per shape (how many references and codes), values are converted by SQLAlchemy's own column
    types, and connections are kept between calls, as the decision writer does (decision_writer.py).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        dialect = engine.dialect
        table = tables.red_flag_answers
        self._mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self._time_in = table.c.expires_at.type.dialect_impl(dialect).bind_processor(dialect)
        self._time_out = table.c.answered_at.type.dialect_impl(dialect).result_processor(dialect, None)
        self._driver_error: type[Exception] = dialect.loaded_dbapi.Error
        self._idle: list[Any] = []
        self._sql: dict[tuple[int, int], str] = {}

    def _statement(self, references: int, codes: int) -> str:
        shape = (references, codes)
        sql = self._sql.get(shape)
        if sql is None:
            mark = self._mark
            which = f"order_reference IN ({', '.join([mark] * references)})"
            if codes:
                which = f"({which} OR order_code IN ({', '.join([mark] * codes)}))"
            # Only placeholders are formatted into the text; every value is a bound parameter.
            where = f"patient_hash = {mark} AND expires_at > {mark} AND {which}"
            sql = self._sql[shape] = f"{_SELECT_ANSWERS} WHERE {where} ORDER BY answered_at, id"
        return sql

    def read(
        self, patient_hash: str, references: Sequence[str], codes: Sequence[str], now: datetime
    ) -> list[Any]:
        """The rows for this patient and these orders, oldest first; StoreUnavailable when the
        database fails."""
        moment = self._time_in(now) if self._time_in else now
        parameters = (patient_hash, moment, *references, *codes)
        sql = self._statement(len(references), len(codes))
        try:
            kept = self._idle.pop()
        except IndexError:
            try:
                kept = self._engine.raw_connection()
            except (
                SQLAlchemyError,
                self._driver_error,
            ) as error:  # the pool passes connect errors on as they are
                raise StoreUnavailable("The answers could not be read.") from error
        try:
            driver = kept.driver_connection
            cursor = driver.cursor()
            try:
                cursor.execute(sql, parameters)
                found = cursor.fetchall()
            finally:
                cursor.close()
            driver.rollback()  # end the read's transaction (PostgreSQL): the next read sees new rows
        except self._driver_error as error:
            kept.invalidate()
            raise StoreUnavailable("The answers could not be read.") from error
        self._idle.append(kept)
        convert = self._time_out
        return [
            _Row(reference, system, code, question, answer, convert(at) if convert else at)
            for reference, system, code, question, answer, at in found
        ]

    def close(self) -> None:
        """Give the kept connections back to the engine's pool."""
        while self._idle:
            self._idle.pop().close()


@dataclass(frozen=True, slots=True)
class _Row:
    order_reference: str
    order_system: str | None
    order_code: str | None
    question: str
    answer: str
    answered_at: Any  # a datetime (naive from SQLite)
