"""Field history (field_history): every value the engine changed in the hub or a remote, or kept
against a change, with the mapping, run and the rule that decided it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "field_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hub_table", sa.String(length=40), nullable=False),
        sa.Column("hub_id", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=120), nullable=False),
        sa.Column("remote_field", sa.String(length=120), nullable=True),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("direction", sa.String(length=12), nullable=False),
        sa.Column("mapping", sa.String(length=120), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_field_history_hub_at", "field_history", ["hub_id", "at"])
    op.create_index("ix_field_history_at", "field_history", ["at"])


def downgrade() -> None:
    op.drop_index("ix_field_history_at", table_name="field_history")
    op.drop_index("ix_field_history_hub_at", table_name="field_history")
    op.drop_table("field_history")
