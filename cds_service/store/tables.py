"""The decision and feedback log's tables (the schema the migrations build, as SQLAlchemy Core).

No column holds patient data: the patient id is a keyed hash, and free-text override comments are
reduced to whether one was given. `seen_tokens` holds no token, only a hash of each client JWT's
issuer and id (see seen_tokens.py).
"""

from __future__ import annotations

import sqlalchemy as sa

# BIGINT ids on PostgreSQL; SQLite only auto-increments a column declared INTEGER PRIMARY KEY.
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("consult_id", sa.String(64), nullable=False),
    sa.Column("card_uuid", sa.String(64), nullable=False, index=True),
    sa.Column("card_shown", sa.Boolean(), nullable=False),
    sa.Column("suggestion_uuids", sa.JSON(), nullable=False),
    sa.Column("service_id", sa.String(200), nullable=False),
    sa.Column("hook", sa.String(64), nullable=False),
    sa.Column("hook_instance", sa.String(200), nullable=False),
    sa.Column("patient_hash", sa.String(64), nullable=True),
    sa.Column("order_reference", sa.String(300), nullable=False),
    sa.Column("order_system", sa.String(300), nullable=True),
    sa.Column("order_code", sa.String(100), nullable=True),
    sa.Column("order_display", sa.String(500), nullable=True),
    sa.Column("modality", sa.String(16), nullable=False),
    sa.Column("regions", sa.JSON(), nullable=False),
    sa.Column("pathway", sa.String(64), nullable=False, index=True),
    sa.Column("rating", sa.String(32), nullable=False),
    sa.Column("red_flags", sa.JSON(), nullable=False),
    sa.Column("not_checked", sa.JSON(), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False, index=True),
    # The red-flag check (0003): answers applied ({red flag id: yes|no}) and the record-only pathway.
    sa.Column("answers_used", sa.JSON(none_as_null=True), nullable=True),  # SQL NULL, not JSON null
    sa.Column("pathway_without_answers", sa.String(64), nullable=True),
    # Who asked (migration 0004): the client JWT's `iss` and `tenant` (null with auth off), and
    # what each suggestion shown does ({suggestion uuid: kind}, e.g. "cancel-order").
    sa.Column("client_id", sa.String(300), nullable=True),
    sa.Column("tenant", sa.String(200), nullable=True),
    sa.Column("suggestion_kinds", sa.JSON(), nullable=True),
    # The card's latest feedback, copied here when it is stored (see card_outcome.py), so the
    # dashboard aggregates one table instead of joining every decision to the feedback log.
    sa.Column("outcome", sa.String(16), nullable=True),  # accepted | overridden; null: no feedback
    sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("accepted_kinds", sa.String(200), nullable=True),  # e.g. "switch-to-mri order-infection-bloods"
    sa.Column("override_system", sa.String(300), nullable=True),
    sa.Column("override_code", sa.String(100), nullable=True),
    sa.Column("override_display", sa.String(500), nullable=True),
    sa.Column("override_has_comment", sa.Boolean(), nullable=True),
    sa.Index("ix_decisions_decided_at_pathway", "decided_at", "pathway", "modality", "client_id", "tenant"),
    sa.Index("ix_decisions_client_decided_at", "client_id", "tenant", "decided_at"),
    sa.Index("ix_decisions_watch", "pathway", "outcome", "decided_at"),
    sa.Index("ix_decisions_answers", "pathway_without_answers", "decided_at"),
    # A retried hook call (same hookInstance, same order) is logged once.
    sa.UniqueConstraint("consult_id", "service_id", name="uq_decisions_consult_service"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    # SHA-256 of the item's identity (service, card, outcome, time, suggestions, reason): the
    # idempotency key. One column, because NULLs never collide in a multi-column unique index.
    sa.Column("item_key", sa.String(64), nullable=False),
    sa.Column("service_id", sa.String(200), nullable=False),
    sa.Column("card_uuid", sa.String(64), nullable=False, index=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
    sa.Column("override_system", sa.String(300), nullable=True),
    sa.Column("override_code", sa.String(100), nullable=True),
    sa.Column("override_display", sa.String(500), nullable=True),
    sa.Column("has_comment", sa.Boolean(), nullable=False),
    sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("item_key", name="uq_feedback_item_key"),
)

seen_tokens = sa.Table(
    "seen_tokens",
    metadata,
    # SHA-256 (hex) of the issuer and the jti: the replay key shared by every worker and node.
    sa.Column("token_key", sa.String(64), primary_key=True),
    # Unix second after which the token is refused anyway (exp + leeway): then the row may go.
    sa.Column("expires_at", sa.BigInteger(), nullable=False, index=True),
)

red_flag_answers = sa.Table(
    "red_flag_answers",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("answer_set_id", sa.String(36), nullable=False),  # uuid4 per submitted form
    sa.Column("consult_id", sa.String(64), nullable=False),
    sa.Column("service_id", sa.String(200), nullable=False),
    sa.Column("patient_hash", sa.String(64), nullable=False),
    sa.Column("order_reference", sa.String(300), nullable=False),
    sa.Column("order_system", sa.String(300), nullable=True),
    sa.Column("order_code", sa.String(100), nullable=True),
    sa.Column("question", sa.String(64), nullable=False),  # a red-flag id
    sa.Column("answer", sa.String(8), nullable=False),  # 'yes' | 'no'
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_red_flag_answers_patient_order_reference", "patient_hash", "order_reference"),
    sa.Index("ix_red_flag_answers_patient_order_code", "patient_hash", "order_code"),
)

check_rate_limits = sa.Table(
    "check_rate_limits",
    metadata,
    # SHA-256 (hex) of the client address: requests to /check/ per address and window, on every node.
    sa.Column("bucket", sa.String(64), primary_key=True),
    sa.Column("window_start", sa.BigInteger(), nullable=False, index=True),  # Unix second
    sa.Column("hits", sa.Integer(), nullable=False),
)

# The dashboard's summaries of settled days (see cds_service/dashboard/summaries.py): per day, the
# decisions counted by everything the page groups by, so a year's page adds up a few thousand rows
# instead of a million. A day is summarised once; feedback that changes one of its cards deletes
# the day's row in `dashboard_days`, and the next page view summarises it again.
dashboard_days = sa.Table(
    "dashboard_days",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("summarised_at", sa.DateTime(timezone=True), nullable=False),
)

dashboard_daily = sa.Table(
    "dashboard_daily",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("day", sa.Date(), nullable=False, index=True),
    sa.Column("client_id", sa.String(300), nullable=True),
    sa.Column("tenant", sa.String(200), nullable=True),
    sa.Column("pathway", sa.String(64), nullable=False),
    sa.Column("modality", sa.String(16), nullable=False),
    sa.Column("card_shown", sa.Boolean(), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("override_code", sa.String(100), nullable=True),
    sa.Column("override_display", sa.String(500), nullable=True),
    sa.Column("accepted_kinds", sa.String(200), nullable=True),
    sa.Column("n", sa.Integer(), nullable=False),
)

dashboard_daily_flags = sa.Table(
    "dashboard_daily_flags",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("day", sa.Date(), nullable=False, index=True),
    sa.Column("client_id", sa.String(300), nullable=True),
    sa.Column("tenant", sa.String(200), nullable=True),
    sa.Column("flag", sa.String(64), nullable=False),
    sa.Column("n", sa.Integer(), nullable=False),
)
