"""Connection status: the API allowance a connection last reported and its last health check.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connection_status",
        sa.Column("connection", sa.String(length=80), nullable=False),
        sa.Column("api_used", sa.Integer(), nullable=True),
        sa.Column("api_limit", sa.Integer(), nullable=True),
        sa.Column("usage_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_ok", sa.Boolean(), nullable=True),
        sa.Column("check_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("connection"),
    )


def downgrade() -> None:
    op.drop_table("connection_status")
