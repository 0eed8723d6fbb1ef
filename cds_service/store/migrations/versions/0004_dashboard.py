"""Dashboard: who made each decision, what each suggestion does, the card's latest outcome, indexes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The card outcome columns, filled from each card's latest feedback item (by outcome_at, then id);
# a copy of cds_service/store/card_outcome.py's COPIED, as a migration must not change with the code.
# `accepted_kinds` starts empty for feedback stored before this revision (what those suggestions did
# was not recorded then).
OUTCOME_COLUMNS = {
    "outcome": "outcome",
    "outcome_at": "outcome_at",
    "override_system": "override_system",
    "override_code": "override_code",
    "override_display": "override_display",
    "override_has_comment": "has_comment",
}


def _backfill() -> None:
    decisions = sa.table("decisions", sa.column("card_uuid"), *(sa.column(c) for c in OUTCOME_COLUMNS))
    feedback = sa.table(
        "feedback",
        sa.column("id"),
        sa.column("card_uuid"),
        *(sa.column(c) for c in set(OUTCOME_COLUMNS.values())),
    )

    def latest(column: str) -> sa.ScalarSelect[object]:
        return (
            sa.select(feedback.c[column])
            .where(feedback.c.card_uuid == decisions.c.card_uuid)
            .order_by(feedback.c.outcome_at.desc(), feedback.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    has_feedback = sa.exists().where(feedback.c.card_uuid == decisions.c.card_uuid)
    op.execute(
        decisions.update()
        .where(has_feedback)
        .values({target: latest(source) for target, source in OUTCOME_COLUMNS.items()})
    )


def upgrade() -> None:
    """Add the columns, copy each card's latest feedback onto its decision, index the dashboard's reads."""
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("client_id", sa.String(300), nullable=True))
        batch.add_column(sa.Column("tenant", sa.String(200), nullable=True))
        batch.add_column(sa.Column("suggestion_kinds", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(16), nullable=True))
        batch.add_column(sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("accepted_kinds", sa.String(200), nullable=True))
        batch.add_column(sa.Column("override_system", sa.String(300), nullable=True))
        batch.add_column(sa.Column("override_code", sa.String(100), nullable=True))
        batch.add_column(sa.Column("override_display", sa.String(500), nullable=True))
        batch.add_column(sa.Column("override_has_comment", sa.Boolean(), nullable=True))
    _backfill()
    # The weekly counts read only this index (PostgreSQL: an index-only scan).
    op.create_index(
        "ix_decisions_decided_at_pathway",
        "decisions",
        ["decided_at", "pathway", "modality", "client_id", "tenant"],
    )
    op.create_index("ix_decisions_client_decided_at", "decisions", ["client_id", "tenant", "decided_at"])
    # The safety watch list: overridden cards of two pathways, newest first.
    op.create_index("ix_decisions_watch", "decisions", ["pathway", "outcome", "decided_at"])
    # The red-flag check panel: decisions that used the GP's answers (0003's column).
    op.create_index("ix_decisions_answers", "decisions", ["pathway_without_answers", "decided_at"])
    _create_summaries()


def _create_summaries() -> None:
    """The dashboard's per-day summaries of settled days (cds_service/dashboard/summaries.py)."""
    op.create_table(
        "dashboard_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("summarised_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dashboard_daily",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False),
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
    op.create_index("ix_dashboard_daily_day", "dashboard_daily", ["day"])
    op.create_table(
        "dashboard_daily_flags",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("client_id", sa.String(300), nullable=True),
        sa.Column("tenant", sa.String(200), nullable=True),
        sa.Column("flag", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_dashboard_daily_flags_day", "dashboard_daily_flags", ["day"])


def downgrade() -> None:
    """Drop the summaries, the indexes and the columns."""
    op.drop_table("dashboard_daily_flags")
    op.drop_table("dashboard_daily")
    op.drop_table("dashboard_days")
    op.drop_index("ix_decisions_answers", "decisions")
    op.drop_index("ix_decisions_watch", "decisions")
    op.drop_index("ix_decisions_client_decided_at", "decisions")
    op.drop_index("ix_decisions_decided_at_pathway", "decisions")
    with op.batch_alter_table("decisions") as batch:
        for column in ("client_id", "tenant", "suggestion_kinds", "accepted_kinds", *OUTCOME_COLUMNS):
            batch.drop_column(column)
