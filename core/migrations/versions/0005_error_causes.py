"""Error counts per cause and status (sync_error_cause), filled from the existing errors;
an index on sync_error.run_id for a run's page and the purge.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_error_cause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mapping", sa.String(length=120), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("field", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("example_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "mapping", "direction", "level", "kind", "code", "field", "status",
            name="uq_sync_error_cause",
        ),
    )
    op.create_index(
        "ix_sync_error_cause_status_newest", "sync_error_cause", ["status", "last_seen"]
    )
    op.create_index("ix_sync_error_run", "sync_error", ["run_id"])
    # Errors recorded before this version get their counts now.
    op.execute(
        "INSERT INTO sync_error_cause (mapping, direction, level, kind, code, field, status,"
        " count, last_seen, example_id)"
        " SELECT mapping, direction, level, kind, COALESCE(code, ''), COALESCE(field, ''),"
        " status, COUNT(*), MAX(last_seen), MAX(id) FROM sync_error"
        " GROUP BY mapping, direction, level, kind, code, field, status"
    )


def downgrade() -> None:
    op.drop_index("ix_sync_error_run", table_name="sync_error")
    op.drop_index("ix_sync_error_cause_status_newest", table_name="sync_error_cause")
    op.drop_table("sync_error_cause")
