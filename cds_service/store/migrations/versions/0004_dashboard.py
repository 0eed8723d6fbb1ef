"""Dashboard: which client and tenant made each decision, what each suggestion does, and indexes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
# Re-chained to "0003" (red-flag check answers) when that lands; see team CONTRACTS.md.
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add client_id, tenant and suggestion_kinds to decisions; index what the dashboard groups by."""
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("client_id", sa.String(300), nullable=True))
        batch.add_column(sa.Column("tenant", sa.String(200), nullable=True))
        batch.add_column(sa.Column("suggestion_kinds", sa.JSON(), nullable=True))
    # The page's range scan reads these columns from the index alone where the database can.
    op.create_index("ix_decisions_decided_at_pathway", "decisions", ["decided_at", "pathway", "modality"])
    op.create_index("ix_decisions_client_decided_at", "decisions", ["client_id", "tenant", "decided_at"])
    # The latest feedback per card: one index range per card, newest first.
    op.create_index("ix_feedback_card_outcome_at", "feedback", ["card_uuid", "outcome_at", "id"])


def downgrade() -> None:
    """Drop the indexes and columns."""
    op.drop_index("ix_feedback_card_outcome_at", "feedback")
    op.drop_index("ix_decisions_client_decided_at", "decisions")
    op.drop_index("ix_decisions_decided_at_pathway", "decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("suggestion_kinds")
        batch.drop_column("tenant")
        batch.drop_column("client_id")
