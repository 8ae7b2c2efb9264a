"""The webhook inbox (``inbound_event``): requests stored before they are processed.

A request is stored first and answered after, so a crash right after the answer loses
nothing; the unique (source, event id) makes a sender's retry a duplicate instead of a second
submission.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "event_id", name="uq_inbound_event"),
    )
    op.create_index("ix_inbound_event_source", "inbound_event", ["source"])
    op.create_index("ix_inbound_event_received_at", "inbound_event", ["received_at"])
    op.create_index("ix_inbound_event_status", "inbound_event", ["status"])


def downgrade() -> None:
    op.drop_index("ix_inbound_event_status", table_name="inbound_event")
    op.drop_index("ix_inbound_event_received_at", table_name="inbound_event")
    op.drop_index("ix_inbound_event_source", table_name="inbound_event")
    op.drop_table("inbound_event")
