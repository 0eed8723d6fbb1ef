"""Client token ids seen by any node (the shared replay guard).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the seen_tokens table: hash of iss + jti (unique), and when the token expires."""
    op.create_table(
        "seen_tokens",
        sa.Column("token_key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_seen_tokens_expires_at", "seen_tokens", ["expires_at"])


def downgrade() -> None:
    """Drop the seen_tokens table."""
    op.drop_table("seen_tokens")
