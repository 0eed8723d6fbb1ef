"""The red-flag check: the clinician's answers, what they changed, and the page's rate limit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create red_flag_answers and check_rate_limits; add the answers columns to decisions."""
    op.create_table(
        "red_flag_answers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("answer_set_id", sa.String(36), nullable=False),
        sa.Column("consult_id", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("patient_hash", sa.String(64), nullable=False),
        sa.Column("order_reference", sa.String(300), nullable=False),
        sa.Column("order_system", sa.String(300), nullable=True),
        sa.Column("order_code", sa.String(100), nullable=True),
        sa.Column("question", sa.String(64), nullable=False),
        sa.Column("answer", sa.String(8), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_red_flag_answers_patient_order_reference", "red_flag_answers", ["patient_hash", "order_reference"]
    )
    op.create_index(
        "ix_red_flag_answers_patient_order_code", "red_flag_answers", ["patient_hash", "order_code"]
    )
    op.create_index("ix_red_flag_answers_answered_at", "red_flag_answers", ["answered_at"])
    op.create_table(
        "check_rate_limits",
        sa.Column("bucket", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
    )
    op.create_index("ix_check_rate_limits_window_start", "check_rate_limits", ["window_start"])
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("answers_used", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("pathway_without_answers", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("pathway_without_answers")
        batch.drop_column("answers_used")
    op.drop_table("check_rate_limits")
    op.drop_table("red_flag_answers")
