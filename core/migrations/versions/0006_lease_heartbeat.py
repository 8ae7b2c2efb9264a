"""Lease heartbeat and holder identity: host, pid, the run it belongs to, the last heartbeat;
the holder on each run, so a run whose process died can be found and closed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_lease") as batch:
        batch.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sync_run") as batch:
        batch.add_column(sa.Column("holder", sa.String(length=120), nullable=True))
    op.create_index("ix_sync_run_status", "sync_run", ["status"])


def downgrade() -> None:
    op.drop_index("ix_sync_run_status", table_name="sync_run")
    with op.batch_alter_table("sync_run") as batch:
        batch.drop_column("holder")
    with op.batch_alter_table("sync_lease") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("run_id")
        batch.drop_column("pid")
        batch.drop_column("host")
