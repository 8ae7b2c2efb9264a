"""Backfills when a mapping changes: each field row's fingerprint (``mapping_field``) and the
resyncs admins ask for (``resync_request``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No rows for a mapping means "never seen": its first cycle stores the fingerprints
    # without a backfill, since today's linked records were synced with today's mapping.
    op.create_table(
        "mapping_field",
        sa.Column("mapping", sa.String(length=120), nullable=False),
        sa.Column("remote_field", sa.String(length=120), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mapping", "remote_field"),
    )
    op.create_table(
        "resync_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mapping", sa.String(length=120), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_resync_request_mapping_done", "resync_request", ["mapping", "done_at"])


def downgrade() -> None:
    op.drop_index("ix_resync_request_mapping_done", table_name="resync_request")
    op.drop_table("resync_request")
    op.drop_table("mapping_field")
